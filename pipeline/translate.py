"""Stage 5: translate every sentence to English with its paragraph's language's model (English
paragraphs pass through). Sentences of all documents in the batch are pooled per language and each
distinct one is generated once (a run-wide ``TranslationCache`` carries that across batches).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from clsum.config import TranslationConfig, output_settings
from clsum.pipeline.runtime import Models, Output
from clsum.pipeline.tcache import TranslationCache
from clsum.record import ENGLISH, Record

log = logging.getLogger(__name__)


class Progress(Protocol):
    def add_sentences(self, n: int) -> None: ...
    def sentences_done(self, n: int) -> None: ...


def translate(
    records: list[Record],
    models: Models,
    config: TranslationConfig,
    progress: Progress | None = None,
    cache: TranslationCache[Output] | None = None,
) -> list[Record]:
    """Fill ``translated`` and ``title_en``. Without a run-wide ``cache`` a batch still translates
    each distinct sentence once."""
    cache = cache if cache is not None else TranslationCache[Output](0)
    by_lang: dict[str, list[Record]] = {}
    for record in records:
        if not record.ok or not record.lang:
            continue
        if record.lang == ENGLISH:
            record.title_en = record.title
        langs = {lang for _, lang in _paragraphs(record)} - {ENGLISH}
        if langs:  # English paragraphs (of a mixed document) pass through; the others are filled below
            record.translated = [list(s) if lang == ENGLISH else [] for s, lang in _paragraphs(record)]
        for lang in sorted(langs):
            by_lang.setdefault(lang, []).append(record)
    for lang, group in sorted(by_lang.items()):
        _translate_language(lang, group, models, config, progress, cache)
    return records


def _translate_language(
    lang: str,
    records: list[Record],
    models: Models,
    config: TranslationConfig,
    progress: Progress | None,
    cache: TranslationCache[Output],
) -> None:
    translator = models.translator(lang)
    titled = [r for r in records if r.lang == lang]  # a title is in its document's language
    titles = _fitting_titles(
        titled, translator.count_tokens, config.max_input_tokens or translator.max_input_tokens
    )
    unique = list(dict.fromkeys([s for r in records for p in _sentences_in(r, lang) for s in p] + titles))
    provenance = translator.provenance
    # Everything that can change a translation is in the key: the model's provenance (backend and
    # precision included), the device, and the translation settings that change outputs.
    context = cache.context(provenance, {"device": translator.device, **output_settings(config)})
    lookup = cache.lookup(context, unique)
    missing = [s for s in unique if s not in lookup]
    log.info(
        "translating %d unique sentences (%s) with %s; %d more from the cache",
        len(missing),
        lang,
        translator.ref.spec,
        len(lookup),
    )
    if progress is not None:
        progress.add_sentences(len(missing))
    english: list[Output] = []
    if missing:  # everything may come from the cache
        english = translator.generate(  # generation settings: the model's (config's included)
            [translator.settings.prefix + s for s in missing],
            batch_size=config.batch_size,
            progress=progress.sentences_done if progress is not None else None,
            batch_tokens=config.batch_tokens,
        )
    generated = dict(zip(missing, english, strict=True))
    cache.store(context, generated)
    lookup.update(generated)
    for record in records:
        title = lookup.get(record.title or "") if record.lang == lang else None
        sentences = _sentences_in(record, lang)
        for p, (paragraph, paragraph_lang) in enumerate(_paragraphs(record)):
            if paragraph_lang == lang:
                record.translated[p] = [lookup[s].text for s in paragraph]
        if record.lang == lang:
            record.title_en = title.text if title is not None else None
        record.models["translation" if record.lang == lang else f"translation.{lang}"] = provenance
        flags = [lookup[s].flags for paragraph in sentences for s in paragraph]
        record.count_outputs("translate", flags + ([title.flags] if title is not None else []))


def _paragraphs(record: Record) -> list[tuple[list[str], str]]:
    """(sentences, language) of each paragraph."""
    return [(s, record.paragraph_lang(p) or ENGLISH) for p, s in enumerate(record.sentences)]


def _sentences_in(record: Record, lang: str) -> list[list[str]]:
    return [sentences for sentences, paragraph_lang in _paragraphs(record) if paragraph_lang == lang]


def _fitting_titles(records: list[Record], count: Callable[[list[str]], list[int]], limit: int) -> list[str]:
    """Titles are translated for display; one too long for the model stays untranslated, not cut."""
    titles = [r.title for r in records if r.title]
    return [t for t, n in zip(titles, count(titles), strict=True) if n <= limit]
