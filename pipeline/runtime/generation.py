"""Generation settings: one source of truth per model and task, with where each value came from
(the layers, and what each origin means: docs/models.md, "Generation settings")."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypedDict

from clsum.errors import ModelError
from clsum.pipeline.runtime.hub import ModelRef

log = logging.getLogger(__name__)

GENERATION_CONFIG = "generation_config.json"
LEGACY_CONFIG = "config.json (legacy)"
DEFAULT = "transformers default"
NO_PREFIX = "clsum default"

# Settings every model gets a value for (the transformers default when nobody set one): what decides
# the text, as both backends apply it. Other settings a checkpoint sets are kept and shown too.
DECODING = (
    "num_beams",
    "max_length",
    "min_length",
    "length_penalty",
    "no_repeat_ngram_size",
    "early_stopping",
    "renormalize_logits",
    "repetition_penalty",
    "do_sample",
    "forced_bos_token_id",
    "forced_eos_token_id",
    "bad_words_ids",
)
# Ways of writing a length that replace each other: the later layer's wins.
_SAME_LENGTH = {
    "max_length": "max_new_tokens",
    "max_new_tokens": "max_length",
    "min_length": "min_new_tokens",
    "min_new_tokens": "min_length",
}
# Attributes of GenerationConfig that say what generate() returns or how it runs, not what it writes.
BOOKKEEPING = {
    "transformers_version",
    "use_cache",
    "output_attentions",
    "output_hidden_states",
    "output_scores",
    "output_logits",
    "return_dict_in_generate",
}


@dataclass(frozen=True)
class Task:
    """What a model is used for: its ``task_specific_params`` entry, and clsum's config on top.

    ``overrides`` are (name, value) pairs the config sets (None values are left out: "the model's
    own"); ``section`` names the config section they come from, for their origin.
    """

    params: str | None = None
    section: str = ""
    overrides: tuple[tuple[str, Any], ...] = ()


class Origin(TypedDict):
    """A generation setting's value and where it came from (manifests)."""

    value: Any
    origin: str


@dataclass(frozen=True)
class GenerationSettings:
    """The effective settings of one model for one task.

    ``config`` is a transformers ``GenerationConfig``, complete (every ``DECODING`` value set,
    lengths as ``max_length``/``min_length``); ``origins`` says where each of its values and the
    ``prefix`` came from; ``source`` which checkpoint file held the model's own settings.
    """

    config: Any
    origins: dict[str, str]
    prefix: str = ""
    source: str = GENERATION_CONFIG
    task: str | None = None

    def values(self) -> dict[str, Any]:
        """Every setting with an origin, by name (``prefix`` included)."""
        out = {name: getattr(self.config, name) for name in self.origins if name != "prefix"}
        return {**out, "prefix": self.prefix}

    def table(self) -> dict[str, Origin]:
        return {name: Origin(value=value, origin=self.origins[name]) for name, value in self.values().items()}

    def with_overrides(self, values: Mapping[str, Any], origin: str) -> GenerationSettings:
        """These settings with ``values`` (None: unchanged) applied on top, labelled ``origin``."""
        if all(value is None for value in values.values()):
            return self
        config, origins = copy.deepcopy(self.config), dict(self.origins)
        prefix = _apply(config, origins, values, lambda _: origin, self.prefix)
        _normalize(config, origins)
        return replace(self, config=config, origins=origins, prefix=prefix)


def resolve(ref: ModelRef, model_config: Any, task: Task | None = None) -> GenerationSettings:
    """The effective settings of ``ref`` for ``task`` (``model_config``: its transformers config):
    the checkpoint's, its task's ``task_specific_params`` and the config's on top, in that order.
    A None in either layer keeps the value below it."""
    task = task or Task()
    config, source = checkpoint_config(ref)
    origins = {name: source for name in _set_names(config)} | {"prefix": NO_PREFIX}
    params = task_params(model_config, task.params)
    prefix = _apply(config, origins, params, lambda _: f"task_specific_params.{task.params}", "")
    prefix = _apply(config, origins, dict(task.overrides), lambda key: f"config {task.section}.{key}", prefix)
    _fill_defaults(config, origins, model_config)
    _normalize(config, origins)
    return GenerationSettings(config, origins, prefix, source, task.params if params else None)


def checkpoint_config(ref: ModelRef) -> tuple[Any, str]:
    """What ``AutoModelForSeq2SeqLM.from_pretrained(ref).generation_config`` holds, and its file.

    The same two reads ``from_pretrained`` makes: ``generation_config.json``, else the generation
    keys of ``config.json`` (``_from_model_config=True`` is how transformers asks for that, and how
    it turns the legacy ``force_bos_token_to_be_generated`` into ``forced_bos_token_id``).
    """
    from transformers import GenerationConfig

    revision = ref.revision or "main"
    try:
        return GenerationConfig.from_pretrained(ref.location, revision=revision), GENERATION_CONFIG
    except OSError:
        pass
    try:
        legacy = GenerationConfig.from_pretrained(
            ref.location, config_file_name="config.json", _from_model_config=True, revision=revision
        )
    except OSError as exc:
        raise ModelError(f"cannot read the generation settings of {ref.spec!r}: {exc}") from exc
    return legacy, LEGACY_CONFIG


def end_ids(config: Any) -> list[int]:
    """A ``GenerationConfig``'s end tokens as a list (its ``eos_token_id`` is one id or a list)."""
    eos = config.eos_token_id
    return list(eos) if isinstance(eos, (list, tuple)) else [eos]


def until_end(ids: list[int], ends: Collection[int]) -> list[int]:
    """``ids`` up to and including the first end token (a row without one is cut by the limit)."""
    end = next((i for i, token in enumerate(ids) if token in ends), None)
    return ids if end is None else ids[: end + 1]


def banned_sequences(config: Any) -> list[list[int]]:
    """transformers' bad words and suppressed tokens: sequences that may never be generated."""
    banned = [list(s) for s in config.bad_words_ids or []]
    return banned + [[t] for t in config.suppress_tokens or [] if [t] not in banned]


def task_params(model_config: Any, name: str | None) -> dict[str, Any]:
    """``task_specific_params[name]`` of a transformers config ({} when absent)."""
    if name is None:
        return {}
    params = getattr(model_config, "task_specific_params", None) or {}
    entry = params.get(name) if isinstance(params, dict) else None
    return dict(entry) if isinstance(entry, dict) else {}


def _set_names(config: Any) -> list[str]:
    return [
        name
        for name, value in vars(config).items()
        if not name.startswith("_") and name not in BOOKKEEPING and value is not None
    ]


def _apply(
    config: Any, origins: dict[str, str], values: Mapping[str, Any], origin: Callable[[str], str], prefix: str
) -> str:
    """Set ``values`` (None: left as they are) on ``config`` with their origins; returns the prefix."""
    ignored = []
    for name, value in values.items():
        if value is None:
            continue
        if name == "prefix":
            prefix, origins["prefix"] = str(value), origin(name)
        elif name.startswith("_") or name in BOOKKEEPING or not hasattr(config, name):
            ignored.append(name)
        else:
            if name in _SAME_LENGTH:  # a max_length replaces a max_new_tokens set below it, and so on
                setattr(config, _SAME_LENGTH[name], None)
                origins.pop(_SAME_LENGTH[name], None)
            setattr(config, name, value)
            origins[name] = origin(name)
    if ignored:
        log.debug("not generation settings, ignored: %s", ", ".join(ignored))
    return prefix


def _fill_defaults(config: Any, origins: dict[str, str], model_config: Any) -> None:
    """transformers' defaults for what nobody set, as ``generate()`` would apply them."""
    # renormalize_logits has no listed default: generate() treats unset as False
    defaults = {"renormalize_logits": False, **type(config)._get_default_generation_params()}
    as_new_tokens = {"max_length": config.max_new_tokens, "min_length": config.min_new_tokens}
    for name in DECODING:
        if getattr(config, name) is not None or as_new_tokens.get(name) is not None:
            continue
        value = defaults[name]
        if name == "max_length":
            # generate(): 20 new tokens after the decoder start token, at most the model's positions
            value = value + 1
            positions = getattr(model_config, "max_position_embeddings", None)
            value = min(value, positions) if positions else value
        setattr(config, name, value)
        origins[name] = DEFAULT


def _normalize(config: Any, origins: dict[str, str]) -> None:
    """``max_new_tokens`` -> ``max_length`` (and min): one way of counting for both backends.

    An encoder-decoder's decoder starts from one token, so ``max_length = max_new_tokens + 1``.
    """
    for new, total in (("max_new_tokens", "max_length"), ("min_new_tokens", "min_length")):
        if getattr(config, new) is not None:
            setattr(config, total, getattr(config, new) + 1)
            setattr(config, new, None)
            origins[total] = origins.pop(new)
