"""Stage 3: each document's language, with a confidence (py3langid: its model ships in the wheel and
classifies a document in well under a millisecond); a hint (``--lang``, JSONL ``lang``) wins. A
paragraph surely in another readable language gets its own language, and its own translator.
"""

from __future__ import annotations

import copy
import logging
from collections import Counter
from functools import lru_cache

from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

from clsum.record import ENGLISH, Record

log = logging.getLogger(__name__)

# Below this the detector is guessing; the document still goes on, but the user is told.
LOW_CONFIDENCE = 0.5
# A paragraph at least this long, classified among the readable languages at least this surely,
# can differ from its document. On NTREX-128 (5,800 German, Dutch and English lines) no line of 60
# characters or more got a wrong language with p >= 0.95; the few wrong ones had p <= 0.9.
MIN_PARAGRAPH_CHARS = 60
PARAGRAPH_CONFIDENCE = 0.95


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)


@lru_cache(maxsize=8)
def _identifier_among(languages: tuple[str, ...]) -> LanguageIdentifier:
    """The detector restricted to ``languages`` (those it knows); a shallow copy shares the full
    model's tables instead of loading them again (~50 MB)."""
    identifier = copy.copy(_identifier())
    identifier.set_languages([lang for lang in languages if lang in _identifier().labels])
    return identifier


def detect(records: list[Record], languages: list[str]) -> list[Record]:
    """Set ``lang``; documents neither English nor in ``languages`` become error records."""
    for record in records:
        if not record.ok:
            continue
        if record.lang_hint:
            record.lang, record.lang_confidence, record.lang_source = record.lang_hint.lower(), 1.0, "given"
        else:
            found, prob = _identifier().classify("\n".join(filter(None, [record.title, record.source])))
            lang, prob = str(found), round(float(prob), 4)
            record.lang, record.lang_confidence, record.lang_source = lang, prob, "detected"
            if prob < LOW_CONFIDENCE:
                log.warning("%s: language detection unsure (%s, p=%.2f)", record.id, lang, prob)
        if record.lang != ENGLISH and record.lang not in languages:
            configured = ", ".join(sorted(languages)) or "none"
            record.fail(
                "detect",
                f"unsupported language {record.lang!r} (configured: {configured}; English passes through)",
            )
        elif record.lang_source == "detected":
            record.paragraph_langs = paragraph_languages(
                record.paragraphs, record.lang, [*languages, ENGLISH]
            )
            if record.paragraph_langs:
                mix = ", ".join(f"{n} {lang}" for lang, n in Counter(record.paragraph_langs).most_common())
                log.info("%s: paragraphs in more than one language (%s)", record.id, mix)
    return records


def paragraph_languages(paragraphs: list[str], lang: str, candidates: list[str]) -> list[str]:
    """Each paragraph's language when a paragraph is surely in another of ``candidates`` than
    ``lang``; [] when they all agree. Short or unsure paragraphs (headings, a line of names) take
    the language of the next sure paragraph (a heading belongs to the text after it), else of the
    one before."""
    identifier = _identifier_among(tuple(sorted(set(candidates))))
    sure: list[str | None] = []
    for paragraph in paragraphs:
        guess = None
        if len(paragraph) >= MIN_PARAGRAPH_CHARS:
            found, prob = identifier.classify(paragraph)
            guess = str(found) if prob >= PARAGRAPH_CONFIDENCE else None
        sure.append(guess)
    if all(guess in (None, lang) for guess in sure):
        return []
    following: list[str | None] = []  # backwards: each paragraph's next sure language
    for guess in reversed(sure):
        following.append(guess or (following[-1] if following else None))
    last = next(guess for guess in reversed(sure) if guess)  # for the unsure ones after it
    return [later or last for later in reversed(following)]
