"""Per-account sandbox state in the Django cache, shared by every process serving a sandbox.

A sandbox keeps a small dict per account (seed, sizes, changes, faults, tokens …) and a few counters;
everything else is generated from the seed. ``SandboxStore`` is the read-modify-write and counting
every sandbox's ``dataset`` module uses.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache import cache

STATE_TTL = 30 * 24 * 3600


@contextmanager
def cache_lock(key: str, *, what: str = "sandbox state", timeout: float = 10) -> Iterator[None]:
    """Hold ``key`` in the shared cache: one holder at a time across every process of the hub.

    ``cache.add`` is atomic in Redis and in the embedded on-disk cache (config/settings.py). A holder
    that dies leaves an entry that expires after ``timeout``.
    """
    deadline = time.monotonic() + timeout
    while not cache.add(key, 1, timeout=int(timeout)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} is locked")
        time.sleep(0.005)
    try:
        yield
    finally:
        cache.delete(key)


class SandboxStore:
    def __init__(self, namespace: str, new_state: Callable[[str], dict[str, Any]], *,
                 normalise: Callable[[str], str] = str):
        self.namespace = namespace
        self.new_state = new_state
        self.normalise = normalise  # e.g. str.lower where the provider's account names ignore case

    def key(self, account: str, what: str) -> str:
        digest = hashlib.sha256(self.normalise(account).encode()).hexdigest()[:24]
        return f"{self.namespace}:{digest}:{what}"

    def load(self, account: str) -> dict[str, Any]:
        return cache.get(self.key(account, "state")) or self.new_state(account)

    @contextmanager
    def locked(self, account: str) -> Iterator[dict[str, Any]]:
        """Read-modify-write of an account's state under a cache lock (shared by all processes)."""
        with cache_lock(self.key(account, "lock"), what=f"{self.namespace} state"):
            state = self.load(account)
            yield state
            cache.set(self.key(account, "state"), state, timeout=STATE_TTL)

    def count(self, account: str, what: str) -> int:
        """Atomically count a request (the Nth request decides which fault applies)."""
        key = self.key(account, what)
        cache.add(key, 0, timeout=STATE_TTL)
        try:
            return cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, timeout=STATE_TTL)
            return 1

    def counter(self, account: str, what: str) -> int:
        return int(cache.get(self.key(account, what)) or 0)

    def forget(self, account: str, *whats: str) -> None:
        cache.delete_many([self.key(account, w) for w in whats])
