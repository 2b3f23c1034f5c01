"""Numbers in English, German and Dutch text, as the *set* of values each mention may mean (``147.445``
is 147445 in German, and translation often copies that form), for consistency checks;
docs/evaluation.md (How numbers are compared) has the rules and limits.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass

from text_to_num import alpha2digit

# Languages text2num converts spelled-out numbers for (it knows more; these are the ones clsum reads).
WORD_LANGS = ("en", "de", "nl")

# Multipliers written after a numeral. Lower-case, without a trailing dot.
# fmt: off
SCALES: dict[str, float] = {
    **dict.fromkeys(["thousand", "tausend", "tsd", "duizend"], 1e3),
    **dict.fromkeys(["million", "millions", "mn", "m", "mio", "millionen", "miljoen", "miljoenen",
                     "mln"], 1e6),
    **dict.fromkeys(["billion", "billions", "bn", "milliarde", "milliarden", "mrd", "miljard",
                     "miljarden", "mld"], 1e9),
}
# fmt: on
PERCENT_WORDS = ("percent", "per cent", "prozent", "procent", "pct", "%")

# The article "one"/"ein"/"een" is not a number claim worth checking; text2num converts it to 1.
_ARTICLES = {"a", "an", "one", "ein", "eine", "einen", "einem", "einer", "eines", "een", "één"}
# Spelled-out ordinals ("for the first time", "zum ersten Mal") and vague plurals ("hundreds of",
# "tens of millions") are not exact number claims: text2num's rewrite of them is dropped.
_ORDINAL = re.compile(r"^\d+(?:st|nd|rd|th|e|ste|de)$", re.IGNORECASE)
_PUNCT = ".,;:!?\"'()"
_VAGUE = re.compile(r"^(?:tens|dozens|hundreds|thousands|millions|billions|ones)$", re.IGNORECASE)

_SCALE_RE = "|".join(sorted((re.escape(s) for s in SCALES), key=len, reverse=True))
_PERCENT_RE = "|".join(re.escape(p) for p in PERCENT_WORDS)
# Dates: 23.11.2026 (de/nl) and 2026-11-23 (ISO), read as their parts.
_DATE = re.compile(
    r"(?<![\w.,])(\d{1,2})\.(\d{1,2})\.(\d{2,4})(?![\w]|[.,]\d)|(?<![\w.,])(\d{4})-(\d{2})-(\d{2})(?!\w)"
)
# German/Dutch day and month without a year: "am 3.10." (read only in de/nl text).
_DAY_MONTH = re.compile(r"(?<![\w.,])(\d{1,2})\.(\d{1,2})\.(?!\d)")
# Clock times: 19:30, 19.30 Uhr / uur, 7.30pm, 7:30 a.m. (a dot needs a unit, else it is a decimal).
_TIME = re.compile(
    r"(?<![\w.,:])(\d{1,2}):(\d{2})(?!\d)(?:\s?(?:am|pm|a\.m\.|p\.m\.|uur|uhr|u|h)\b)?"
    r"|(?<![\w.,:])(\d{1,2})\.(\d{2})\s?(?:am|pm|a\.m\.|p\.m\.|uur|uhr|u|h)\b",
    re.IGNORECASE,
)
# A numeral: digit groups joined by thousand separators (dot, comma, space, no-break/thin space),
# optionally a decimal part; then optionally a scale word and a percent marker.
_NUMERAL = re.compile(
    r"(?<![\w.,])(?P<num>\d{1,3}(?:[.,\u00a0\u202f\u2009 ]\d{3})+(?:[.,]\d+)?(?!\d)|\d+(?:[.,]\d+)?)"
    rf"(?:\s?(?P<scale>{_SCALE_RE})\b\.?)?"
    rf"(?:\s?(?P<pct>{_PERCENT_RE}))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Mention:
    text: str  # as written (for spelled-out numbers: the words)
    values: frozenset[float]  # every value the mention may denote


def numeral_values(num: str) -> set[float]:
    """Every value a digit numeral may denote under English or German/Dutch conventions."""
    num = re.sub(r"[\u00a0\u202f\u2009 ]", "", num)
    seps = re.findall(r"[.,]", num)
    if not seps:
        return {float(num)}
    last = max(num.rfind("."), num.rfind(","))
    head, tail = num[:last], num[last + 1 :]
    as_decimal = float(re.sub(r"[.,]", "", head) + "." + tail)
    as_grouped = float(re.sub(r"[.,]", "", num))
    if len(set(seps)) > 1:  # "1.234,5" / "1,234.5": the last one is the decimal mark
        return {as_decimal}
    if len(seps) > 1:  # "1.234.567": only thousand separators repeat
        return {as_grouped}
    return {as_decimal, as_grouped} if len(tail) == 3 else {as_decimal}


def extract_numbers(text: str, lang: str = "en") -> list[Mention]:
    """All number mentions in ``text``: digits as written, then spelled-out numbers."""
    mentions: list[Mention] = []
    masked = text
    # A date or time is one mention per part (all parts must be supported), named as written.
    for pattern in [_DATE, _DAY_MONTH] if lang in ("de", "nl") else [_DATE]:
        for match in pattern.finditer(masked):
            parts = [float(g) for g in match.groups() if g is not None]
            mentions.extend(Mention(match.group(0), frozenset({p})) for p in parts)
            masked = _mask(masked, match.start(), match.end())
    for match in _TIME.finditer(masked):
        hour, minute = (float(g) for g in match.groups() if g is not None)
        hours = {hour, hour + 12} if hour < 12 else {hour, hour - 12}  # 7.30pm = 19:30
        mentions.append(Mention(match.group(0).strip(), frozenset(hours)))
        if minute:  # "4:00" claims no more than "4 o'clock" / "4 uur"
            mentions.append(Mention(match.group(0).strip(), frozenset({minute})))
        masked = _mask(masked, match.start(), match.end())
    for match in _NUMERAL.finditer(masked):
        values = numeral_values(match.group("num"))
        scale = match.group("scale")
        if scale:
            scaled = {v * SCALES[scale.lower()] for v in values}
            values = scaled | values if scale.lower() == "m" else scaled  # "3 m" may be metres
        mentions.append(Mention(match.group(0).strip(), frozenset(values)))
        masked = _mask(masked, match.start(), match.end())
    mentions.extend(_spelled_out(masked, lang))
    return mentions


def _mask(text: str, start: int, end: int) -> str:
    """Blank out a span (same length, so later offsets stay valid) so it is not read twice."""
    return text[:start] + " " * (end - start) + text[end:]


def _spelled_out(text: str, lang: str) -> list[Mention]:
    """Numbers written as words, found by diffing the text against text2num's digit rewrite."""
    if lang not in WORD_LANGS:
        return []
    words = text.split()
    converted = alpha2digit(text, lang, threshold=0).split()
    mentions: list[Mention] = []
    matcher = difflib.SequenceMatcher(a=words, b=converted, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "replace":
            continue
        if i2 - i1 == j2 - j1:  # word for word ("zweite, zwei" -> "2., 2"): judge each word alone
            pairs = [([words[i]], [converted[j1 + k]]) for k, i in enumerate(range(i1, i2))]
        else:  # several words became one number ("two hundred" -> "200")
            pairs = [(words[i1:i2], converted[j1:j2])]
        mentions.extend(m for src, out in pairs if (m := _word_mention(src, out)) is not None)
    return mentions


def _word_mention(source_words: list[str], digits: list[str]) -> Mention | None:
    """The mention for words text2num rewrote as ``digits``; None for articles, ordinals, vague plurals."""
    bare = [w.strip(_PUNCT).lower() for w in source_words]
    if any(_VAGUE.match(w) for w in bare) or _is_ordinal(source_words[-1], digits):
        return None
    values = {v for match in _NUMERAL.finditer(" ".join(digits)) for v in numeral_values(match.group("num"))}
    if not values or (values == {1.0} and " ".join(bare) in _ARTICLES):
        return None
    return Mention(" ".join(source_words).strip(_PUNCT), frozenset(values))


def _is_ordinal(last_word: str, digits: list[str]) -> bool:
    """ "1st", "2e", or "1." from "erste" (but not "5." from "five." at the end of a sentence)."""
    last, word = digits[-1].rstrip(",;:!?)\"'"), last_word.rstrip(",;:!?)\"'")
    return any(_ORDINAL.match(d.rstrip(",;:!?)\"'.")) for d in digits) or (
        last.endswith(".") and not word.endswith(".")
    )


def unsupported(summary: str, source: str, lang: str, translation: str) -> list[str]:
    """Mentions in ``summary`` (English), as written, each once, with no value in source or translation."""
    known = [v for m in extract_numbers(source, lang) + extract_numbers(translation, "en") for v in m.values]
    claims = (m for m in extract_numbers(summary, "en") if not _supported(m, known))
    return list(dict.fromkeys(m.text for m in claims))


def _supported(mention: Mention, known: list[float]) -> bool:
    return any(math.isclose(v, k, rel_tol=1e-9, abs_tol=1e-9) for v in mention.values for k in known)
