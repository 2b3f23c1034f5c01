"""``Seq2Seq``: a tokenizer and a seq2seq model, the only model object the stages see.

Stages count tokens, ask for the input limit and generate text for a batch. Which backend and
precision run the model is settled when the object is built (the ``auto`` fallback included) and
never changes afterwards, so the provenance a record gets names the engine that made its text.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from clsum.errors import ModelError
from clsum.pipeline.runtime import hub
from clsum.pipeline.runtime.backends import Engine, Options, resolve
from clsum.pipeline.runtime.batching import token_budget_batches
from clsum.pipeline.runtime.ct2cache import ct2_model_dir

log = logging.getLogger(__name__)

# Tokenizers report a huge sentinel when no limit is configured; treat that as "unknown".
_NO_LIMIT = 1_000_000


class Seq2Seq:
    """A tokenizer + seq2seq model pair. The tokenizer loads at once, the weights on first use.

    ``options`` pick the backend and precision; constructed directly it is the reference
    (transformers, float32 on CPU), while the pipeline passes the config's (default: auto).
    """

    def __init__(self, spec: str, device: str, options: Options | None = None) -> None:
        self.ref = hub.ModelRef(spec)
        self.device = device
        self.options = options or Options()
        self.tokenizer = hub.load("tokenizer", self.ref)
        # Fast tokenizers are not safe to call from two threads at once (the prefetch thread
        # counts tokens while the main thread translates): every tokenizer call holds this lock.
        self._tokenizer_lock = threading.Lock()
        self._engine: Engine | None = None
        self._generation_config: Any = None
        self._choice, self._ct2_dir = self._choose_engine()

    def _choose_engine(self) -> tuple[tuple[str, str], Path | None]:
        """(backend, compute_type) and, for CTranslate2, the converted model (converted now, once).

        With backend ``auto`` a model CTranslate2 cannot convert runs on transformers instead.
        """
        backend, compute = resolve(self.options, self.device)
        if backend != "ctranslate2":
            return (backend, compute), None
        try:
            return (backend, compute), ct2_model_dir(self.ref.spec, compute, commit=self._commit())
        except ModelError as exc:
            if self.options.backend != "auto":
                raise
            log.warning("%s; using transformers instead", exc)
            return resolve(Options("transformers", "auto", self.options.threads), self.device), None

    @property
    def backend(self) -> str:
        return self._choice[0]

    @property
    def compute_type(self) -> str:
        return self._choice[1]

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._load_engine()
        return self._engine

    @property
    def model(self) -> Any:
        """The transformers model (loaded for the transformers backend only)."""
        from clsum.pipeline.runtime.backends.transformers import TransformersEngine

        engine = self.engine
        if not isinstance(engine, TransformersEngine):
            raise ModelError(f"{self.ref.spec} runs on {self.backend}, which has no transformers model")
        return engine.model

    def _load_engine(self) -> Engine:
        if self._ct2_dir is not None:
            from clsum.pipeline.runtime.backends.ctranslate2 import Ct2Engine

            return Ct2Engine(
                self._ct2_dir,
                self.tokenizer,
                self.generation_config,
                self.device,
                self.compute_type,
                self.options.threads,
            )
        from clsum.pipeline.runtime.backends.transformers import TransformersEngine

        model = hub.load("model", self.ref)
        self._generation_config = model.generation_config
        return TransformersEngine(model, self.tokenizer, self.device, self.compute_type)

    @property
    def generation_config(self) -> Any:
        """The model's generation defaults (read from its files; no weights needed)."""
        if self._generation_config is None:
            from transformers import GenerationConfig

            try:
                self._generation_config = GenerationConfig.from_pretrained(
                    self.ref.location, revision=self.ref.revision or "main"
                )
            except OSError:  # no generation_config.json: derived from config.json, as transformers does
                self._generation_config = GenerationConfig.from_model_config(hub.load("config", self.ref))
        return self._generation_config

    @functools.cached_property
    def max_input_tokens(self) -> int:
        """Asked for every batch; without a tokenizer limit it reads config.json, so once only."""
        limit = int(getattr(self.tokenizer, "model_max_length", _NO_LIMIT) or _NO_LIMIT)
        if limit >= _NO_LIMIT:
            config = hub.load("config", self.ref)
            limit = int(getattr(config, "max_position_embeddings", 512))
        return limit

    @property
    def max_output_tokens(self) -> int | None:
        """The model's own generation length limit (used to decide if partial summaries fit)."""
        return getattr(self.generation_config, "max_length", None)

    @property
    def precision(self) -> str:
        """Which backend and precision make the outputs, e.g. ``ctranslate2 int8``."""
        return f"{self.backend} {self.compute_type}"

    @property
    def provenance(self) -> str:
        """``id@commit (backend precision)`` for hub models, ``dir#sha256-prefix (...)`` for local dirs."""
        return f"{self._weights_id()} ({self.precision})"

    def _weights_id(self) -> str:
        if self.ref.is_local:
            return f"{self.ref.location}#{hub.local_dir_hash(Path(self.ref.location))}"
        return f"{self.ref.repo_id}@{self._commit() or 'unknown'}"

    def _commit(self) -> str | None:
        if self.ref.is_local:
            return None
        return getattr(self.tokenizer, "_commit_hash", None) or hub.cached_commit(self.ref)

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
    ) -> list[str]:
        """Generate for every text, batching by token length; results come back in input order.

        A batch holds at most ``batch_size`` texts and, when ``batch_tokens`` is set, at most that
        many padded input tokens (rows x longest row). ``overrides`` with value None are dropped so
        the model's own generation_config applies. ``progress`` gets the texts finished per batch.
        """
        if not texts:
            return []
        settings = {k: v for k, v in overrides.items() if v is not None}
        ids = self._ids(texts)
        lengths = [len(x) for x in ids]
        out: list[str] = [""] * len(texts)
        for idx in token_budget_batches(lengths, batch_tokens or 1 << 62, batch_size):
            longest = max(lengths[i] for i in idx)
            # Inputs were already split to fit, so truncation here would only hide a bug: refuse it.
            if longest > self.max_input_tokens:
                raise ModelError(f"{self.ref.spec}: input of {longest} tokens exceeds its limit")
            outputs = self.engine.generate([ids[i] for i in idx], settings)
            self._warn_if_cut(outputs, settings)
            with self._tokenizer_lock:
                texts_out = self.tokenizer.batch_decode(outputs, skip_special_tokens=True)
            for i, text in zip(idx, texts_out, strict=True):
                out[i] = text.strip()
            if progress is not None:
                progress(len(idx))
        return out

    def _warn_if_cut(self, outputs: list[list[int]], settings: dict[str, Any]) -> None:
        """Output that ends without EOS at max_length was cut by the length limit: say so."""
        limit = settings.get("max_length") or self.generation_config.max_length
        eos = self.generation_config.eos_token_id
        if limit is None or eos is None:
            return
        eos_ids = eos if isinstance(eos, list) else [eos]
        # limit - 1: HF's max_length counts the decoder start token, which outputs do not include
        cut = sum(1 for row in outputs if len(row) >= limit - 1 and row and row[-1] not in eos_ids)
        if cut:
            log.warning("%s: %d output(s) reached max_length=%d without ending", self.ref.spec, cut, limit)
