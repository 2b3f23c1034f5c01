"""The settings tables of docs/configuration.md, generated from the fields' metadata (``setting``);
the tests fail when the page and the fields differ. To regenerate: ``python -c "from tests.tables
import config_table; print(config_table())"`` (``table`` for benchmark keys and system params)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import MISSING, Field
from typing import Any

import yaml

from clsum.config import Config
from clsum.settings import default, leaves


def yaml_value(value: Any) -> str:
    """A value as it is written in a YAML file, on one line."""
    if isinstance(value, str) and not value.isprintable():
        return json.dumps(value)  # "\n": a double-quoted YAML string, escapes and all
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1 << 20)
    return text.removesuffix("\n").removesuffix("\n...")


def table(*sections: tuple[str, type], extra: tuple[str, Callable[[Field[Any]], str]] | None = None) -> str:
    """A markdown table of every setting of each (key prefix, dataclass): key, default, meaning;
    ``extra`` adds a column (its title, and its cell for a field)."""
    head = ["key", "default", *(extra[:1] if extra else ()), "meaning"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for prefix, cls in sections:
        for key, f, _ in leaves(cls, prefix):
            value = "required" if f.default is f.default_factory is MISSING else f"`{yaml_value(default(f))}`"
            cells = [
                f"`{key}`",
                value.replace("|", "\\|"),
                *([extra[1](f)] if extra else []),
                f.metadata.get("doc", ""),
            ]
            rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def config_table() -> str:
    """Every config key: default, whether it is in the config hash, meaning."""
    return table(("", Config), extra=("hashed", lambda f: "yes" if f.metadata.get("output", True) else "no"))
