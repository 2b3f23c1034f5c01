"""clsum: Dutch and German news in, English summaries out, with signed evaluation.

    from clsum import Pipeline, load_config
    pipe = Pipeline(load_config("configs/cpu-fast.yaml"))
    records = pipe.summarize_texts(["Het kabinet heeft ..."])
    result = pipe.run("articles/", "out/")

The two names are loaded on first use (PEP 562): importing a module of a low layer, such as
``clsum.errors``, does not import the runner (layers: docs/architecture.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clsum.config import load_config
    from clsum.runner import Pipeline

__all__ = ["Pipeline", "load_config"]

_WHERE = {"Pipeline": "clsum.runner", "load_config": "clsum.config"}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'clsum' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__() -> list[str]:  # the lazy names too, for dir() and completion
    return sorted([*globals(), *__all__])
