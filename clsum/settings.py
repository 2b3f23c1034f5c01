"""Settings files: YAML read strictly (``read_yaml``, ``parse_value``), then built into typed
dataclasses (``build``); every settings file clsum reads goes through them (docs/configuration.md,
"What is checked, and when"). A field's default, range and description live in its metadata
(``setting``), the one place the documentation tables are generated from (``tests/tables.py``).
"""

from __future__ import annotations

import codecs
import dataclasses
import difflib
import reprlib
import types
from collections.abc import Hashable, Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from clsum.errors import ConfigError

T = TypeVar("T")

# Values a file may hold once its aliases are followed. Settings files hold tens; an alias bomb of
# 600 bytes expands to billions, and anything that walks it (a check, a message) never ends.
MAX_NODES = 10_000

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlist = _REPR.maxdict = 4
_REPR.maxlevel = 2


def shown(value: Any) -> str:
    """``repr(value)``, cut short: what a message may say about any value, however big."""
    return _REPR.repr(value)


def unknown(what: str, name: str, valid: Iterable[str]) -> str:
    """ "unknown WHAT 'name' (did you mean 'x'? available: a, b, ...)"; the guess only when one is close."""
    valid = [str(v) for v in valid]
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6) if len(name) < 200 else []
    guess = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown {what} {shown(name)} ({guess}available: {', '.join(valid) or '(none)'})"


def setting(
    default: Any = dataclasses.MISSING,
    doc: str = "",
    *,
    factory: Any = dataclasses.MISSING,
    min: float | None = None,  # noqa: A002 - the range's name in the metadata
    max: float | None = None,  # noqa: A002
    **extra: Any,
) -> Any:
    """A dataclass field with its description and range (numbers: value; lists: length)."""
    metadata = {k: v for k, v in {"doc": doc, "min": min, "max": max, **extra}.items() if v is not None}
    return dataclasses.field(default=default, default_factory=factory, metadata=metadata)


# --- the loader -------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in a mapping and aliases that expand too far."""

    def construct_document(self, node: yaml.Node) -> Any:
        _expanded_size(node, {}, set())
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # "<<: *base": keys given after it override the merged ones
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if isinstance(key, Hashable) and key in first:
                raise ConfigError(
                    f"line {line}: key {shown(key)} is given twice (first on line {first[key]})"
                )
            if isinstance(key, Hashable):
                first[key] = line
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node: yaml.Node, sizes: dict[int, int], open_: set[int]) -> int:
    """How many values ``node`` holds with every alias followed (each node counted once per use)."""
    line = node.start_mark.line + 1
    if id(node) in open_:
        raise ConfigError(f"line {line}: an alias refers to the value that holds it")
    if id(node) not in sizes:
        open_.add(id(node))
        children = node.value if isinstance(node, yaml.SequenceNode) else []
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        sizes[id(node)] = 1 + sum(_expanded_size(child, sizes, open_) for child in children)
        open_.discard(id(node))
    if sizes[id(node)] > MAX_NODES:
        raise ConfigError(f"line {line}: its aliases expand to more than {MAX_NODES} values")
    return sizes[id(node)]


def _load(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {shown(str(exc).splitlines()[0])[1:-1]}") from exc
    except RecursionError as exc:
        raise ConfigError("not valid YAML: nested too deeply") from exc


def _decode(data: bytes) -> str:
    """UTF-8 text (a UTF-8 byte order mark dropped); anything else says what it is instead."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in data[:4096]:
        raise ConfigError("is not UTF-8: it looks like UTF-16 (save it as UTF-8)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"is not UTF-8: byte 0x{data[exc.start]:02x} on line {line} is not valid UTF-8 "
            "(saved as cp1252/Latin-1? save it as UTF-8)"
        ) from exc


def read_yaml(path: Path, what: str = "config file") -> dict[str, Any]:
    """The mapping in a YAML file (empty file: {}); every failure is one line naming the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    try:
        loaded = _load(_decode(data))
    except ConfigError as exc:
        sep = " " if str(exc).startswith("is ") else ": "
        raise ConfigError(f"{what} {path}{sep}{exc}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{what} {path} must contain a mapping of settings")
    return loaded


def parse_value(raw: str) -> Any:
    """A ``KEY=VALUE`` value: a YAML scalar (``2``, ``null``, ``true``); anything else as written."""
    try:
        value = _load(raw) if raw.strip() else ""
    except ConfigError:
        return raw
    # Values are scalars: "summarize: " is the T5 prefix, not a YAML mapping.
    return raw if isinstance(value, (dict, list)) else value


# --- the builder ------------------------------------------------------------------------------


def build(cls: type[T], data: Any, where: str = "", what: str = "key") -> T:
    """An instance of dataclass ``cls`` from parsed YAML, checked against its field types.

    ``where`` starts every message (a file, say); ``what`` names its keys ("config key").
    """
    try:
        return _dataclass(cls, data, "", what)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}" if where else str(exc)) from None


def _dotted(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _dataclass(cls: type[T], data: Any, path: str, what: str) -> T:
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'settings'} must be a mapping, got {shown(data)}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    hints = get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            name = _first_leaf(_dotted(path, str(key)), value)
            raise ConfigError(unknown(what, name, [_dotted(path, k) for k in keys(cls)]))
        kwargs[key] = _value(hints[key], value, _dotted(path, key), fields[key], what)
    for name, f in fields.items():
        if name not in data and f.default is f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"missing required {what} {_dotted(path, name)!r}")
    return cls(**kwargs)


def _first_leaf(key: str, value: Any) -> str:
    """'translaton' with value {'models': {'de': ...}} -> 'translaton.models.de', for suggestions."""
    while isinstance(value, dict) and value:
        first = next(iter(value))
        key, value = f"{key}.{first}", value[first]
    return key


def _value(hint: Any, value: Any, key: str, f: dataclasses.Field[Any] | None, what: str) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if dataclasses.is_dataclass(hint):
        return _dataclass(hint, value, key, what)  # type: ignore[arg-type]
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _value(inner, value, key, f, what)
    if origin is Literal:
        if not any(value == a and type(value) is type(a) for a in args):
            raise ConfigError(unknown(key, str(value), [str(a) for a in args]))
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be a list, got {shown(value)}")
        _in_range(key, len(value), f, "item(s)")
        return [_value(args[0], v, f"{key}[{i}]", None, what) for i, v in enumerate(value)]
    if origin is dict:
        return _mapping(args[1], value, key, f, what)
    if hint is Any:
        return value
    return _in_range(key, _scalar(hint, value, key), f)


def _mapping(hint: Any, value: Any, key: str, f: dataclasses.Field[Any] | None, what: str) -> dict[str, Any]:
    """A ``dict[str, X]``; with ``merge`` in its metadata it extends the default, and null removes."""
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be a mapping, got {shown(value)}")
    merge = f is not None and f.metadata.get("merge")
    out: dict[str, Any] = dict(default(f)) if merge and f is not None else {}
    for k, v in value.items():
        if v is None and merge:
            out.pop(str(k), None)
        else:
            out[str(k)] = _value(hint, v, f"{key}.{k}", None, what)
    return out


_TYPE_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}


def _scalar(hint: Any, value: Any, key: str) -> Any:
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
        return value
    raise ConfigError(f"{key} must be {_TYPE_NAMES.get(hint, hint.__name__)}, got {shown(value)}")


def _in_range(key: str, n: Any, f: dataclasses.Field[Any] | None, unit: str = "") -> Any:
    """Numbers must not be negative unless their field says otherwise; lengths only when it does."""
    if not isinstance(n, (int, float)) or isinstance(n, bool):
        return n
    meta = f.metadata if f is not None else {}
    low, high = meta.get("min", None if unit else 0), meta.get("max")
    why = f" ({meta['why']})" if meta.get("why") else ""
    if low is not None and n < low:
        rule = f"must have at least {low} {unit}" if unit else f"must be at least {low}"
        rule = "must not be negative" if low == 0 and not unit else rule
        raise ConfigError(f"{key} {rule}{why}, got {n}")
    if high is not None and n > high:
        raise ConfigError(f"{key} must be at most {high}{' ' + unit if unit else ''}{why}, got {n}")
    return n


# --- the metadata, for suggestions (and the docs tables: tests/tables.py) -----------------------


def leaves(cls: type, prefix: str = "") -> Iterator[tuple[str, dataclasses.Field[Any], Any]]:
    """(dotted key, field, type) of every setting under ``cls``, nested sections flattened."""
    hints = get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.init and dataclasses.is_dataclass(hints[f.name]):
            yield from leaves(hints[f.name], f"{prefix}{f.name}.")
        elif f.init:
            yield f"{prefix}{f.name}", f, hints[f.name]


def default(f: dataclasses.Field[Any]) -> Any:
    return f.default if f.default_factory is dataclasses.MISSING else f.default_factory()


def keys(cls: type) -> list[str]:
    """Every valid dotted key under ``cls`` (mappings as ``KEY.<key>``), for suggestions."""
    return [f"{key}.<key>" if get_origin(hint) is dict else key for key, _, hint in leaves(cls)]
