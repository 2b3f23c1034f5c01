"""Named-entity candidates by a capitalisation heuristic (no model, a screening aid, not NER), and a
folded lookup for them; docs/evaluation.md (How names are found) has the rules and limits.
"""

from __future__ import annotations

import re
import unicodedata

# A word: letters first, then letters/digits/apostrophes; hyphenated parts stay one word.
_WORD = re.compile(r"[^\W\d_][\w'’]*(?:-[^\W\d_][\w'’]*)*", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?:;])[\"'”’»)]*\s+|\n+")
# fmt: off
_PARTICLES = {"van", "von", "der", "den", "de", "het", "of", "the", "zu", "am", "an",
              "ter", "ten"}
# English function words that start sentences or clauses; months and weekdays (dates are numbers).
_STOP = {
    "a", "an", "the", "this", "that", "these", "those", "he", "she", "it", "they", "we", "i", "you",
    "his", "her", "its", "their", "our", "in", "on", "at", "for", "from", "with", "by", "as", "but",
    "and", "or", "if", "when", "while", "after", "before", "according", "there", "here", "also", "mr",
    "mrs", "ms", "dr", "prof", "new", "last", "first",
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "lrb", "rrb", "lsb", "rsb",  # bracket tokens of PTB-tokenized corpora (CNN/DM: -LRB- = "(")
}
# fmt: on
# A few exonyms a summary may use where the source has the local name; applied after folding.
EXONYMS = {
    "munich": "munchen",
    "cologne": "koln",
    "nuremberg": "nurnberg",
    "vienna": "wien",
    "bavaria": "bayern",
    "hague": "haag",
    "brussels": "brussel",
    "germany": "deutschland",
    "netherlands": "nederland",
}


def fold(word: str) -> str:
    """Lower case, without diacritics, with German ``ae/oe/ue`` spellings and ``ß`` folded alike.

    ``München``, ``Muenchen`` and ``MUNCHEN`` all become ``munchen``.
    """
    word = word.lower().replace("ß", "ss").replace("’", "'")
    word = re.sub(r"'s$", "", word)
    word = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
    word = re.sub(r"([aou])e", r"\1", word)
    return EXONYMS.get(word, word)


def _is_capitalised(word: str) -> bool:
    return word[0].isupper() and re.sub(r"['’]\w*$", "", word.lower()) not in _STOP


def candidates(text: str) -> list[str]:
    """Entity candidates in order of appearance, each once."""
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    words_per_sentence = [_WORD.findall(s) for s in sentences]
    capitalised_inside = {fold(w) for ws in words_per_sentence for w in ws[1:] if w[0].isupper()}
    found: list[str] = []
    for words in words_per_sentence:
        for run in _runs(words):
            names = [words[i] for i in run]
            if run[0] == 0 and fold(names[0]) not in capitalised_inside:  # starts its sentence
                names = names[1:]
                while names and not _is_capitalised(names[0]):
                    names = names[1:]
            found.append(" ".join(names))
    return [entity for entity in dict.fromkeys(found) if entity]


def _runs(words: list[str]) -> list[list[int]]:
    """Indices of maximal capitalised runs (particles allowed between capitalised words)."""
    runs: list[list[int]] = []
    current: list[int] = []
    for i, word in enumerate(words):
        is_particle = bool(current) and word.lower() in _PARTICLES
        if _is_capitalised(word) or (is_particle and i + 1 < len(words) and _is_capitalised(words[i + 1])):
            current.append(i)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def vocabulary(*texts: str) -> set[str]:
    """Folded words of the texts (hyphenated words also split), for support lookups."""
    vocab: set[str] = set()
    for text in texts:
        for word in _WORD.findall(text):
            vocab.add(fold(word))
            vocab.update(fold(part) for part in re.split(r"[-']", word) if part)
    return vocab


def unsupported(summary: str, *texts: str) -> list[str]:
    """The candidates of ``summary`` with a capitalised word that occurs in none of ``texts`` (folded)."""
    vocab = vocabulary(*texts)
    names = {entity: [w for w in _WORD.findall(entity) if w[0].isupper()] for entity in candidates(summary)}
    return [entity for entity, words in names.items() if not all(fold(w) in vocab for w in words)]
