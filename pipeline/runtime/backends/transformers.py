"""The transformers backend, the reference: float32 (or int8 Linear layers) on CPU, fp16/bf16 on CUDA."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

from clsum.pipeline.runtime.generation import end_ids, until_end


class TransformersEngine:
    def __init__(self, model: Any, tokenizer: Any, device: str, compute_type: str) -> None:
        self.device = device
        self._tokenizer = tokenizer
        self.model = _prepare(model, device, compute_type)

    def generate_all(self, batches: list[list[list[int]]], config: Any) -> Iterator[list[list[int]]]:
        import torch

        ends = set(end_ids(config))
        for batch in batches:
            enc = self._tokenizer.pad({"input_ids": batch}, return_tensors="pt")
            enc = {k: v.to(self.device) for k, v in enc.items()}
            with torch.inference_mode():
                ids = self.model.generate(**enc, generation_config=config)
            # row[0] is the decoder start token; after a row's end token comes padding (the end
            # token itself for checkpoints without a pad_token_id)
            yield [until_end(row[1:], ends) for row in ids.tolist()]


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
