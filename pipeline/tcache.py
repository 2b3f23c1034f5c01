"""A run-wide cache of sentence translations: boilerplate repeated across articles (bylines, "Lees
ook", footers) is translated once. What a key holds and how the size works: docs/outputs.md.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class TranslationCache(Generic[V]):
    """LRU map from (model, settings, sentence) to its translation (text, or the stage's output
    object with its flags); ``size`` 0 disables it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[str, V] = OrderedDict()
        # translate() runs on the main thread only today; the lock keeps the cache safe if not.
        self._lock = threading.Lock()

    @staticmethod
    def context(provenance: str, settings: dict[str, Any]) -> str:
        """The part of every key that is the same for one model and one set of settings."""
        return json.dumps({"model": provenance, **settings}, sort_keys=True, default=str)

    @staticmethod
    def key(context: str, text: str) -> str:
        return hashlib.sha256(f"{context}\x00{text}".encode("utf-8", "surrogatepass")).hexdigest()

    def lookup(self, context: str, texts: list[str]) -> dict[str, V]:
        """The cached translations among ``texts`` (counting hits and misses)."""
        found: dict[str, V] = {}
        with self._lock:
            for text in texts:
                key = self.key(context, text)
                if key in self._entries:
                    self._entries.move_to_end(key)
                    found[text] = self._entries[key]
            self.hits += len(found)
            self.misses += len(texts) - len(found)
        return found

    def store(self, context: str, translations: dict[str, V]) -> None:
        if self.size <= 0:
            return
        with self._lock:
            for text, english in translations.items():
                key = self.key(context, text)
                self._entries[key] = english
                self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every entry (the counts stay: they are the run's)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
