"""Analytical FLOPs of encoder-decoder generation, and this machine's matmul peak.

FLOPs (one multiply-add = 2 FLOPs; layer norms, softmax, activations and embeddings left out), for a
model with d = d_model, f = FFN width, V = vocabulary, Le/Ld encoder/decoder layers, a source of n
tokens, T generated tokens and beam B:

  encoder  = Le * (n * (8 d^2 + 4 d f) + 4 n^2 d)           QKVO projections, FFN, scores + weighted sum
  cross-KV = Ld * 4 n d^2                                    encoder keys/values, once per source
  decoder  = B * sum_{t=1..T} [ Ld * (12 d^2 + 4 d f + 4 t d + 4 n d) + 2 d V ]
             (self-attn QKVO 8d^2 + cross-attn Q,O 4d^2, FFN, self/cross scores, vocab projection)

so  decoder = B * (T * (Ld * (12 d^2 + 4 d f + 4 n d) + 2 d V) + Ld * 2 d T (T + 1)).
This is the work an ideal implementation must do; implementations that recompute the cross-attention
keys per beam or pad batches do more.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Arch:
    d_model: int
    ffn: int
    vocab: int
    encoder_layers: int
    decoder_layers: int

    @classmethod
    def from_config(cls, c: Any) -> Arch:
        """From a transformers config (FFN width: the encoder's; the published models use one width)."""
        return cls(c.d_model, c.encoder_ffn_dim, c.vocab_size, c.encoder_layers, c.decoder_layers)


def generation_flops(arch: Arch, n: int, t: int, beam: int) -> float:
    """FLOPs to encode ``n`` source tokens and generate ``t`` tokens with beam ``beam`` (formula above)."""
    d, f, v, le, ld = arch.d_model, arch.ffn, arch.vocab, arch.encoder_layers, arch.decoder_layers
    encoder = le * (n * (8 * d * d + 4 * d * f) + 4 * n * n * d)
    cross_kv = ld * 4 * n * d * d
    per_step = ld * (12 * d * d + 4 * d * f + 4 * n * d) + 2 * d * v
    decoder = beam * (t * per_step + ld * 2 * d * t * (t + 1))
    return float(encoder + cross_kv + decoder)


@dataclass(frozen=True)
class MatmulPeak:
    size: int
    threads: int
    fp32_gflops: float
    int8_gops: float | None
    int8_note: str | None = None  # why there is no int8 figure


def matmul_peak(size: int = 1024, seconds: float = 2.0) -> MatmulPeak:
    """Measured GFLOP/s of a square fp32 torch matmul, and GOP/s of the same shape in int8, on the
    threads torch was given (the bench runs it in a child configured like the systems' children)."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    fp32 = _rate(lambda: a @ b, size, seconds)
    try:
        # int8 GEMM as inference engines run it: a dynamically quantized Linear (fbgemm/oneDNN),
        # int8 weights and activations, int32 accumulation.
        with warnings.catch_warnings():  # torch deprecates quantized tensors in favour of torchao
            warnings.simplefilter("ignore")
            linear = torch.ao.nn.quantized.dynamic.Linear(size, size, dtype=torch.qint8)
        return MatmulPeak(size, torch.get_num_threads(), fp32, _rate(lambda: linear(a), size, seconds))
    except (RuntimeError, AttributeError, NotImplementedError) as exc:  # no quantized engine
        note = f"quantized Linear unavailable: {exc}".splitlines()[0]
        return MatmulPeak(size, torch.get_num_threads(), fp32, None, note)


def _rate(op: Any, size: int, seconds: float) -> float:
    op()  # warm-up
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        op()
        runs += 1
    return round(2 * size**3 * runs / (time.perf_counter() - start) / 1e9, 2)
