"""``Seq2Seq``: a tokenizer and a seq2seq model, the only model object the stages see, and the
``Output`` texts it generates, flagged when they degenerated (docs/models.md, "Degenerate output is
counted"). Backend and precision are settled when it is built (the ``auto`` fallback included) and
never change, so the provenance a record gets names the engine that made its text.
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clsum.errors import ConfigError, ModelError
from clsum.pipeline.runtime import hub
from clsum.pipeline.runtime.backends import Engine, Options, resolve
from clsum.pipeline.runtime.ct2cache import ct2_model_dir
from clsum.pipeline.runtime.generation import GenerationSettings, Task, end_ids
from clsum.pipeline.runtime.generation import resolve as resolve_settings

log = logging.getLogger(__name__)

# Tokenizers report a huge sentinel when no limit is configured; treat that as "unknown".
_NO_LIMIT = 1_000_000


def check_length(ref: hub.ModelRef, config: Any, settings: GenerationSettings) -> None:
    """A ``max_length`` past the decoder's learned/sinusoidal positions fails every generate()
    late; refuse it now. (Decoding from the start token at position 0, a model with P positions
    generates at most P + 1 tokens. T5's relative positions have no such limit.) Needs only the
    model's config.json, not its weights."""
    positions = getattr(config, "max_position_embeddings", None)
    max_length = int(settings.config.max_length)
    if positions and max_length > positions + 1:
        origin = settings.origins.get("max_length", "?")
        raise ConfigError(
            f"max_length {max_length} ({origin}) is more than {ref.spec} can "
            f"generate: its {positions} positions allow at most {positions + 1}"
        )


MAX_LENGTH = "max_length"  # generation stopped at the length limit, not at an end token of its own
REPETITION = "repetition"  # the output repeats an n-gram back to back (a decoding loop)

# A loop: one n-gram of up to _MAX_PERIOD tokens repeated back to back, spanning at least _MIN_SPAN
# tokens, at least 3 times (n < 6: "the the the" is language, six times is not) or twice (n >= 6:
# a whole phrase said twice in a row).
_MAX_PERIOD = 16
_MIN_SPAN = 6


@dataclass(frozen=True)
class Output:
    """One generated text, with the flags (``MAX_LENGTH``, ``REPETITION``) that say it degenerated."""

    text: str
    flags: tuple[str, ...] = ()


def degeneration(
    ids: list[int], max_length: int, end_ids: Collection[int], forced_end: bool, specials: Collection[int]
) -> tuple[str, ...]:
    """Flags for one output (ids without the decoder start token, end token kept if generated).

    ``max_length`` counts the decoder start token, as transformers does. With a forced end token
    (``forced_eos_token_id``) an output cut by the limit ends with it too, so reaching the limit is
    what counts; otherwise an output that ends with its own end token was not cut.
    """
    flags = []
    if ids and len(ids) >= max_length - 1 and (forced_end or ids[-1] not in end_ids):
        flags.append(MAX_LENGTH)
    if has_loop([t for t in ids if t not in specials]):
        flags.append(REPETITION)
    return tuple(flags)


def has_loop(ids: list[int]) -> bool:
    """Whether some n-gram repeats back to back (see ``_MAX_PERIOD``, ``_MIN_SPAN``)."""
    for period in range(1, min(_MAX_PERIOD, len(ids) // 2) + 1):
        repeats = 2 if period >= 6 else max(3, -(-_MIN_SPAN // period))
        needed = (repeats - 1) * period  # positions equal to the token one period earlier, in a row
        run = 0
        for i in range(period, len(ids)):
            run = run + 1 if ids[i] == ids[i - period] else 0
            if run >= needed:
                return True
    return False


# Batching without padding: every batch holds inputs of one token length, so each output depends on
# its own input only (why: docs/reproducibility.md, "How: batches formed from the inputs only").
def equal_length_batches(lengths: list[int], batch_tokens: int, batch_size: int) -> list[list[int]]:
    """Indices into ``lengths``, batched: taken in order of length, a batch is cut when rows x length
    would exceed the budget, the row cap is reached, or the length changes; a single input longer
    than the budget gets its own batch."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])  # stable: ties keep input order
    batches: list[list[int]] = []
    for length, group in itertools.groupby(order, key=lambda i: lengths[i]):
        rows = list(group)
        step = max(1, min(batch_size, batch_tokens // length if length else batch_size))
        batches += [rows[start : start + step] for start in range(0, len(rows), step)]
    return batches


class Seq2Seq:
    """A tokenizer + seq2seq model pair. The tokenizer loads at once, the weights on first use.

    ``options`` pick the backend and precision; constructed directly it is the reference
    (transformers, float32 on CPU), while the pipeline passes the config's (default: auto).
    ``task`` picks the ``task_specific_params`` entry and the config's generation settings; the
    effective settings (``settings``) are computed here, once, and every backend decodes with them.
    """

    def __init__(
        self, spec: str, device: str, options: Options | None = None, task: Task | None = None
    ) -> None:
        self.ref = hub.ModelRef(spec)
        self.device = device
        self.options = options or Options()
        self.tokenizer = hub.load("tokenizer", self.ref)
        self._commit: str | None = getattr(self.tokenizer, "_commit_hash", None)  # as transformers loaded it
        self.config = hub.load("config", self.ref)
        self.settings: GenerationSettings = resolve_settings(self.ref, self.config, task)
        check_length(self.ref, self.config, self.settings)
        # Fast tokenizers are not safe to call from two threads at once (the prefetch thread
        # counts tokens while the main thread translates): every tokenizer call holds this lock.
        self._tokenizer_lock = threading.Lock()
        # For CTranslate2 the model is converted now, once; with backend ``auto`` a model
        # CTranslate2 cannot convert runs on transformers instead.
        self.backend, self.compute_type = resolve(self.options, self.device)
        self._ct2_dir: Path | None = None
        if self.backend == "ctranslate2":
            try:
                self._ct2_dir = ct2_model_dir(self.ref.spec, self.compute_type, commit=self._commit)
            except ModelError as exc:
                if self.options.backend != "auto":
                    raise
                log.warning("%s; using transformers instead", exc)
                fallback = Options("transformers", "auto", self.options.threads)
                self.backend, self.compute_type = resolve(fallback, self.device)

    @functools.cached_property
    def engine(self) -> Engine:
        """Loaded on first use: the weights wait for the first generate()."""
        if self._ct2_dir is not None:
            from clsum.pipeline.runtime.backends.ctranslate2 import Ct2Engine

            return Ct2Engine(
                self._ct2_dir, self.tokenizer, self.device, self.compute_type, self.options.threads
            )
        from clsum.pipeline.runtime.backends.transformers import TransformersEngine

        model = hub.load("model", self.ref)
        return TransformersEngine(model, self.tokenizer, self.device, self.compute_type)

    @functools.cached_property
    def max_input_tokens(self) -> int:
        """The tokenizer's ``model_max_length``; without one (older tokenizer configs), the model's
        positions (``max_position_embeddings``; T5: ``n_positions``), else 512."""
        limit = int(getattr(self.tokenizer, "model_max_length", _NO_LIMIT) or _NO_LIMIT)
        if limit >= _NO_LIMIT:
            positions = [getattr(self.config, k, None) for k in ("max_position_embeddings", "n_positions")]
            limit = int(next((p for p in positions if p), 512))
        return limit

    @property
    def max_output_tokens(self) -> int:
        """The effective ``max_length`` (counts the decoder start token, as transformers does)."""
        return int(self.settings.config.max_length)

    @property
    def provenance(self) -> str:
        """``id@commit (backend precision)`` for hub models, ``dir#sha256-prefix (...)`` for local dirs."""
        if self.ref.is_local:
            weights = f"{self.ref.location}#{hub.version(self.ref)}"
        else:  # a commit, never the branch or tag name hub.version falls back to: that names no weights
            weights = f"{self.ref.repo_id}@{self._commit or hub.cached_commit(self.ref) or 'unknown'}"
        return f"{weights} ({self.backend} {self.compute_type})"

    def _ids(self, texts: list[str], special: bool = True) -> list[list[int]]:
        # verbose=False: counting text longer than the limit is how we find what to split
        with self._tokenizer_lock:
            encoded = self.tokenizer(texts, add_special_tokens=special, verbose=False)
        ids: list[list[int]] = encoded["input_ids"]
        return ids

    def count_tokens(self, texts: list[str], special: bool = True) -> list[int]:
        """Tokens each text occupies as model input, with or without the special tokens added."""
        return [len(x) for x in self._ids(texts, special)] if texts else []

    def generate(
        self,
        texts: list[str],
        batch_size: int,
        progress: Callable[[int], None] | None = None,
        batch_tokens: int | None = None,
        **overrides: Any,
    ) -> list[Output]:
        """Generate for every text, batching by token length; results come back in input order.

        A batch holds texts of one token length only (``equal_length_batches``: no padding, so no output
        depends on the others), at most ``batch_size`` of them and, when ``batch_tokens`` is set,
        at most that many input tokens (rows x length). ``overrides`` (None: not set) apply on top of
        ``settings`` for this call. ``progress`` gets the texts finished per batch. Each output
        carries the flags of ``degeneration``.
        """
        if not texts:
            return []
        settings = self.settings.with_overrides(overrides, "generate() argument")
        gc = settings.config
        end, forced_end = end_ids(gc), gc.forced_eos_token_id is not None
        with self._tokenizer_lock:
            specials = set(self.tokenizer.all_special_ids)
        ids = self._ids(texts)
        lengths = [len(x) for x in ids]
        out: list[Output] = [Output("")] * len(texts)
        batches = equal_length_batches(lengths, batch_tokens or 1 << 62, batch_size)
        if lengths and max(lengths) > self.max_input_tokens:
            # Inputs were already split to fit, so truncation here would only hide a bug: refuse it.
            raise ModelError(f"{self.ref.spec}: input of {max(lengths)} tokens exceeds its limit")
        # The engine decodes the batches as formed here (in parallel where it can) and yields each
        # batch's outputs in order: what runs beside a row never depends on threads or workers.
        results = self.engine.generate_all([[ids[i] for i in idx] for idx in batches], gc)
        for idx, outputs in zip(batches, results, strict=True):
            with self._tokenizer_lock:
                texts_out = self.tokenizer.batch_decode(outputs, skip_special_tokens=True)
            for i, text, row in zip(idx, texts_out, outputs, strict=True):
                out[i] = Output(text.strip(), degeneration(row, gc.max_length, end, forced_end, specials))
            if progress is not None:
                progress(len(idx))
        said = {MAX_LENGTH: f"reached max_length={gc.max_length}", REPETITION: "repeat an n-gram in a loop"}
        for flag, what in said.items():  # counted per record and in the run summary; logged for -v
            if n := sum(flag in o.flags for o in out):
                log.info("%s: %d of %d output(s) %s", self.ref.spec, n, len(out), what)
        return out
