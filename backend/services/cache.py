"""Small per-app, per-process LRU caches (a cache never outlives its app or sees another app's data)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import current_app

MISSING = object()
T = TypeVar("T")


class LRU:
    """A thread-safe LRU mapping of at most ``size`` entries."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        """The value of ``key``, or ``MISSING``."""
        with self._lock:
            if key not in self._items:
                return MISSING
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: Hashable, value: Any, drop: Callable[[Hashable], bool] | None = None) -> None:
        """Store ``value``; entries for which ``drop(key)`` is true go first (older versions of the same thing)."""
        with self._lock:
            if drop is not None:
                for old in [k for k in self._items if drop(k)]:
                    del self._items[old]
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def app_cache(name: str, size: int) -> LRU:
    """The current app's cache called ``name``."""
    caches: dict[str, LRU] = current_app.extensions.setdefault("drumsampler.caches", {})
    cache = caches.get(name)
    if cache is None:
        cache = caches.setdefault(name, LRU(size))
    return cache


def per_library(name: str, size: int, library_id: int, version: int, build: Callable[[], T]) -> T:
    """The value cached as ``name`` for ``library_id`` at ``version``, built with ``build()`` when missing; older
    versions of the same library are dropped."""
    cache = app_cache(name, size)
    key = (library_id, version)
    value = cache.get(key)
    if value is MISSING:
        value = build()
        cache.put(key, value, drop=lambda k: k[0] == library_id)
    return value
