"""The transformers backend, the reference: float32 (or int8 Linear layers) on CPU, fp16/bf16 on CUDA."""

from __future__ import annotations

import logging
import warnings
from typing import Any

log = logging.getLogger(__name__)


class TransformersEngine:
    backend = "transformers"

    def __init__(self, model: Any, tokenizer: Any, device: str, compute_type: str) -> None:
        self.compute_type = compute_type
        self.device = device
        self.pad_id = tokenizer.pad_token_id
        self._tokenizer = tokenizer
        self.model = _prepare(model, device, compute_type)

    def generate(self, batch: list[list[int]], settings: dict[str, Any]) -> list[list[int]]:
        import torch

        enc = self._tokenizer.pad({"input_ids": batch}, return_tensors="pt")
        enc = {k: v.to(self.device) for k, v in enc.items()}
        with torch.inference_mode():
            ids = self.model.generate(**enc, **settings)
        return [_trim(row, self.pad_id) for row in ids.tolist()]


def _prepare(model: Any, device: str, compute_type: str) -> Any:
    import torch

    if compute_type == "int8":
        # Dynamic quantization: Linear weights stored as int8, activations quantized per batch (CPU only).
        # torch.ao warns that it moves to torchao; it still works, and torchao is one more dependency.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*")
            return torch.ao.quantization.quantize_dynamic(model.eval(), {torch.nn.Linear}, dtype=torch.qint8)
    dtype = {"float16": torch.float16, "bfloat16": torch.bfloat16}.get(compute_type, torch.float32)
    return model.to(device=device, dtype=dtype).eval()


def _trim(row: list[int], pad_id: int | None) -> list[int]:
    """Drop the decoder start token and the padding after a finished row."""
    row = row[1:]
    while row and pad_id is not None and row[-1] == pad_id:
        row.pop()
    return row
