"""Inference backends behind ``runtime.seq2seq.Seq2Seq``: Hugging Face transformers and CTranslate2,
each an ``Engine`` from input ids to output ids (docs/architecture.md, "The runtime boundary").
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from clsum.errors import ConfigError

BACKENDS = ("auto", "transformers", "ctranslate2")
# Precisions each backend accepts ("auto": the fastest for the device, see ``resolve``).
COMPUTE_TYPES = {
    "transformers": ("auto", "float32", "int8", "float16", "bfloat16"),
    "ctranslate2": (
        "auto",
        "float32",
        "int8",
        "int8_float32",
        "int8_float16",
        "int8_bfloat16",
        "int16",
        "float16",
        "bfloat16",
    ),
}


@dataclass(frozen=True)
class Options:
    """How to run a model: backend, precision and CPU threads (from the config's top-level keys)."""

    backend: str = "transformers"
    compute_type: str = "auto"
    threads: int = 0


class Engine(Protocol):
    def generate_all(self, batches: list[list[list[int]]], config: Any) -> Iterator[list[list[int]]]:
        """Output ids per input row of each batch, batches yielded in order, decoded with ``config``
        (a complete transformers ``GenerationConfig``, see ``runtime.generation``): no decoder start
        token, no padding, EOS kept if produced. Each batch is decoded as given (never split or
        merged), concurrently where the engine can."""
        ...


def ct2_available() -> bool:
    return importlib.util.find_spec("ctranslate2") is not None


def ct2_supports(device: str, compute_type: str) -> bool:
    if not ct2_available():
        return False
    import ctranslate2

    kind = "cuda" if device.startswith("cuda") else "cpu"
    if kind == "cuda" and ctranslate2.get_cuda_device_count() == 0:
        return False
    return compute_type in ctranslate2.get_supported_compute_types(kind)


def auto_compute_type(backend: str, device: str) -> str:
    cuda = device.startswith("cuda")
    if backend == "ctranslate2":
        return "int8_float16" if cuda else "int8"
    return "float16" if cuda else "float32"


def resolve(options: Options, device: str) -> tuple[str, str]:
    """(backend, compute_type) that ``options`` mean on ``device``; 'auto' picks the fastest available.

    auto: CTranslate2 (int8 on CPU, int8_float16 on CUDA) when it is installed and supports the
    precision on this device, else transformers (float32 on CPU, float16 on CUDA).
    """
    check(options)
    backend, compute = options.backend, options.compute_type
    if backend == "auto":
        wanted = compute if compute != "auto" else auto_compute_type("ctranslate2", device)
        if compute in COMPUTE_TYPES["ctranslate2"] and ct2_supports(device, wanted):
            return "ctranslate2", wanted
        backend = "transformers"
        if compute not in COMPUTE_TYPES["transformers"]:
            compute = "auto"  # a ct2-only precision without ct2: the reference precision instead
    if compute == "auto":
        compute = auto_compute_type(backend, device)
    _check(backend, compute, device)
    return backend, compute


def check(options: Options) -> None:
    """A backend and precision this package knows (whether the device has them: ``resolve``)."""
    if options.backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {options.backend!r}")
    allowed = (
        sorted(set(COMPUTE_TYPES["transformers"]) | set(COMPUTE_TYPES["ctranslate2"]))
        if options.backend == "auto"
        else COMPUTE_TYPES[options.backend]
    )
    if options.compute_type not in allowed:
        raise ConfigError(
            f"compute_type {options.compute_type!r} is not supported by backend {options.backend!r} "
            f"(choose from: {', '.join(allowed)})"
        )


def _check(backend: str, compute: str, device: str) -> None:
    cuda = device.startswith("cuda")
    if backend == "transformers":
        if compute == "int8" and cuda:
            raise ConfigError("compute_type int8 with backend transformers runs on CPU only (use device=cpu)")
        if compute in ("float16", "bfloat16") and not cuda:
            raise ConfigError(f"compute_type {compute} with backend transformers needs a CUDA device")
        return
    if not ct2_available():
        raise ConfigError("backend ctranslate2 requested but the ctranslate2 package is not installed")
    if not ct2_supports(device, compute):
        raise ConfigError(f"compute_type {compute} is not supported by CTranslate2 on {device}")
