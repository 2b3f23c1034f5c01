"""Reference-free checks of one summary against its source (and English translation), and their
aggregate over a run; docs/evaluation.md (Reference-free checks) defines every value and flag."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean
from typing import Any

from clsum.errors import InputError
from clsum.eval import entities, numbers
from clsum.eval.scores import jsonable
from clsum.pipeline.write import SUMMARIES, read_rows

# Flag thresholds (a summary is flagged when a value is past one of them).
MAX_REPEATED_TRIGRAMS = 0.10  # fluent summaries repeat almost no trigram; loops repeat most
MAX_NOVEL_UNIGRAMS = 0.50  # over half the words not in the source (translation): likely off-source
MAX_COMPRESSION = 0.80  # summary nearly as long as the source: not a summary
MIN_SUMMARY_WORDS = 5  # empty or a few words: generation failed
MAX_UNSUPPORTED_NUMBERS = 0  # any number not in the source is flagged
MAX_UNSUPPORTED_ENTITIES = 0  # any entity candidate not in the source is flagged

CHECKS_VERSION = "1"
CHECKS_SIGNATURE = (
    f"clsum-checks:v{CHECKS_VERSION}|rep3>{MAX_REPEATED_TRIGRAMS}|novel1>{MAX_NOVEL_UNIGRAMS}"
    f"|comp>{MAX_COMPRESSION}|words<{MIN_SUMMARY_WORDS}|numbers>{MAX_UNSUPPORTED_NUMBERS}"
    f"|entities>{MAX_UNSUPPORTED_ENTITIES}|entities=capitalisation-heuristic"
)
FLAG_KINDS = ("repetition", "novel_words", "not_compressed", "too_short", "unsupported_numbers",
              "unsupported_entities")  # fmt: skip

_TOKEN = re.compile(r"\w+", re.UNICODE)


@dataclass
class CheckResult:
    """Checks of one summary (docs/evaluation.md, What each value means). Words are lower-cased
    ``\\w+`` tokens; the reference text is the English translation when given, else the source."""

    compression: float  # summary words / source words
    novel_ngrams: dict[int, float]  # n (1-3) -> share of the summary's n-grams not in the reference text
    repeated_trigrams: float  # (trigram occurrences - distinct trigrams) / occurrences
    unsupported_numbers: list[str]  # mentions (as written) with no value in the source or translation
    unsupported_entities: list[str]  # candidates with a capitalised word in neither (``eval.entities``)
    flags: list[str] = field(default_factory=list)  # "kind: reason" per threshold crossed (FLAG_KINDS)

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


@dataclass
class ChecksSummary:
    """Means of the values over the checked summaries, the share flagged and counts per flag kind
    (only ``documents`` and ``signature`` when there were none)."""

    documents: int
    mean_compression: float | None = None
    mean_novel_ngrams: dict[str, float] | None = None  # n (as text) -> mean
    mean_repeated_trigrams: float | None = None
    mean_unsupported_numbers: float | None = None
    mean_unsupported_entities: float | None = None
    flagged: int | None = None
    share_flagged: float | None = None
    flags: dict[str, int] | None = None  # every kind of FLAG_KINDS -> summaries flagged with it
    signature: str = CHECKS_SIGNATURE

    @classmethod
    def of(cls, results: list[CheckResult]) -> ChecksSummary:
        if not results:
            return cls(0)
        kinds = Counter(kind for r in results for kind in {flag.split(":", 1)[0] for flag in r.flags})
        flagged = sum(r.flagged for r in results)
        return cls(
            documents=len(results),
            mean_compression=mean(r.compression for r in results),
            mean_novel_ngrams={str(n): mean(r.novel_ngrams[n] for r in results) for n in (1, 2, 3)},
            mean_repeated_trigrams=mean(r.repeated_trigrams for r in results),
            mean_unsupported_numbers=mean(len(r.unsupported_numbers) for r in results),
            mean_unsupported_entities=mean(len(r.unsupported_entities) for r in results),
            flagged=flagged,
            share_flagged=flagged / len(results),
            flags={kind: kinds.get(kind, 0) for kind in FLAG_KINDS},
        )


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def ngrams(toks: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]


def check(source: str, summary: str, source_lang: str = "en", translation: str | None = None) -> CheckResult:
    """Check ``summary`` (English) against ``source`` (in ``source_lang``) and its English translation."""
    words, reference = tokens(summary), tokens(translation or source)
    grams = {n: ngrams(words, n) for n in (1, 2, 3)}
    known = {n: set(ngrams(reference, n)) for n in (1, 2, 3)}
    result = CheckResult(
        compression=len(words) / max(len(tokens(source)), 1),
        novel_ngrams={
            n: sum(g not in known[n] for g in gs) / len(gs) if gs else 0.0 for n, gs in grams.items()
        },
        repeated_trigrams=(len(grams[3]) - len(set(grams[3]))) / len(grams[3]) if grams[3] else 0.0,
        unsupported_numbers=numbers.unsupported(summary, source, source_lang, translation or ""),
        unsupported_entities=entities.unsupported(summary, source, translation or ""),
    )
    # Novel words are only meaningful against English text (the summary is English).
    result.flags = _flags(result, len(words), english_reference=bool(translation) or source_lang == "en")
    return result


def _flags(result: CheckResult, summary_words: int, english_reference: bool) -> list[str]:
    flags = []
    if result.repeated_trigrams > MAX_REPEATED_TRIGRAMS:
        flags.append(
            f"repetition: {result.repeated_trigrams:.0%} of trigrams repeat (> {MAX_REPEATED_TRIGRAMS:.0%})"
        )
    if english_reference and result.novel_ngrams[1] > MAX_NOVEL_UNIGRAMS:
        flags.append(
            f"novel_words: {result.novel_ngrams[1]:.0%} of words not in the source "
            f"(> {MAX_NOVEL_UNIGRAMS:.0%})"
        )
    if result.compression > MAX_COMPRESSION:
        flags.append(f"not_compressed: summary is {result.compression:.0%} of the source length "
                     f"(> {MAX_COMPRESSION:.0%})")  # fmt: skip
    if summary_words < MIN_SUMMARY_WORDS:
        flags.append(f"too_short: {summary_words} words (< {MIN_SUMMARY_WORDS})")
    if len(result.unsupported_numbers) > MAX_UNSUPPORTED_NUMBERS:
        flags.append(f"unsupported_numbers: {', '.join(result.unsupported_numbers)}")
    if len(result.unsupported_entities) > MAX_UNSUPPORTED_ENTITIES:
        flags.append(f"unsupported_entities: {', '.join(result.unsupported_entities)}")
    return flags


def aggregate(results: list[CheckResult]) -> dict[str, Any]:
    """The JSON form of ``ChecksSummary.of(results)``, as ``clsum check --json`` prints it."""
    return jsonable(ChecksSummary.of(results))


# -- the summaries a 'clsum summarize' run stored ----------------------------------------------------


def check_output(folder: Path) -> list[tuple[dict[str, Any], CheckResult]]:
    """Each stored summary of the output folder of ``clsum summarize`` with its checks, in file order
    (rows without a summary, failed documents, are left out)."""
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder (expected the output folder of 'clsum summarize')")
    path = folder / SUMMARIES
    if not path.is_file():
        raise InputError(f"no {SUMMARIES} in {folder} (expected the output folder of 'clsum summarize')")
    checked = []
    for row in read_rows(path):
        summary, source, lang = row.get("summary"), row.get("source"), row.get("lang") or "en"
        if isinstance(summary, str) and isinstance(source, str) and not row.get("error"):
            translation = (row.get("translation") if lang != "en" else None) or None
            checked.append((row, check(source, summary, lang, translation)))
    return checked
