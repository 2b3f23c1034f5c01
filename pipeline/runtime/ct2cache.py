"""CTranslate2 conversions on disk, one per model version and compute type, converted once on first
use (where, and how they are named: docs/performance.md, "Converted models").
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from clsum.errors import ModelError
from clsum.pipeline.runtime.hub import ModelRef, version

log = logging.getLogger(__name__)


def cache_root() -> Path:
    """$CLSUM_CT2_CACHE, else ``clsum-ct2`` next to the Hugging Face hub cache in $HF_HOME."""
    if os.environ.get("CLSUM_CT2_CACHE"):
        return Path(os.environ["CLSUM_CT2_CACHE"]).expanduser()
    from huggingface_hub import constants

    return Path(constants.HF_HOME) / "clsum-ct2"


def ct2_model_dir(spec: str, compute_type: str, commit: str | None = None, convert: bool = True) -> Path:
    """The CTranslate2 conversion of ``spec`` at ``compute_type``, converted once on first use."""
    ref = ModelRef(spec)
    name = f"local--{Path(ref.location).name}" if ref.is_local else ref.repo_id
    target = cache_root() / f"{name.replace('/', '--')}--{version(ref, commit) or 'unknown'}--{compute_type}"
    if convert and not target.is_dir():
        _convert(name, ref, compute_type, target)
    return target


def _convert(name: str, ref: ModelRef, compute_type: str, target: Path) -> None:
    """Convert into a temporary directory beside ``target`` and rename it into place, so a directory
    that exists is complete and concurrent runs never see half a model."""
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("converting %s to CTranslate2 (%s), once: %s", name, compute_type, target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        _converter(ref.location, ref.revision).convert(str(tmp), quantization=compute_type, force=True)
        os.replace(tmp, target)
    except OSError:
        if not target.is_dir():  # lost a race to a concurrent conversion: theirs is as good
            raise
    except Exception as exc:  # the converter raises anything from unsupported architectures
        raise ModelError(f"cannot convert {name} to CTranslate2: {type(exc).__name__}: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_DROPPED_CONFIG: dict[str, dict[str, bool]] = {
    "bart": {"normalize_before": False},
    "pegasus": {"normalize_before": True, "normalize_embedding": False},
}


def _converter(location: str, revision: str | None) -> Any:
    from ctranslate2.converters import TransformersConverter

    class Converter(TransformersConverter):
        def load_model(self, model_class: Any, path: str, **kwargs: Any) -> Any:
            model = super().load_model(model_class, path, **kwargs)
            # transformers 5 dropped config attributes ct2's BART-family loaders read; put back
            # the values they used to hold (BART is post-norm; PEGASUS is pre-norm, no embedding norm).
            for name, value in _DROPPED_CONFIG.get(model.config.model_type, {}).items():
                if not hasattr(model.config, name):
                    setattr(model.config, name, value)
            return model

    return Converter(location, revision=revision)
