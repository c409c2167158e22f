"""Token buckets: one request budget per integration, shared by every worker.

With ``settings.REDIS_URL`` the bucket lives in Redis and is updated by one Lua script, so the
refill-and-take is atomic across processes (and uses Redis' clock, so workers' clocks don't
matter). Without Redis the bucket lives in the Django cache (on the embedded defaults the on-disk
cache every process of the hub shares), refilled and taken under a cache lock.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Protocol

from django.conf import settings

from .errors import RateLimitedError

KEY_PREFIX = "hub:ratelimit:"

# KEYS[1] bucket; ARGV capacity, period seconds. Returns "0" when a token was taken, otherwise the
# seconds until one is available (as a string: Redis truncates Lua numbers to integers).
_TAKE_LUA = """
local capacity = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local rate = capacity / period
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = capacity; ts = now end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(period * 1000) + 1000)
return tostring(wait)
"""


class Bucket(Protocol):
    def take(self, key: str, capacity: int, period: float) -> float:
        """Take one token; return 0.0 on success, else seconds until a token is available."""


class CacheBucket:
    """Buckets in the Django cache, for hubs without Redis: shared by every process that shares the cache.

    The read-modify-write runs under a ``cache.add`` lock (atomic in the shared cache's backend). The
    wall clock stands in for Redis' clock: the processes sharing an on-disk cache share one machine.
    """

    LOCK_SECONDS = 5

    def take(self, key: str, capacity: int, period: float) -> float:
        from django.core.cache import cache

        state_key, lock_key = KEY_PREFIX + key, KEY_PREFIX + key + ":lock"
        # A holder that died inside leaves an entry that expires after LOCK_SECONDS.
        while not cache.add(lock_key, 1, timeout=self.LOCK_SECONDS):
            time.sleep(0.002)
        try:
            rate = capacity / period
            now = time.time()
            tokens, ts = cache.get(state_key) or (float(capacity), now)
            tokens = min(capacity, tokens + max(0.0, now - ts) * rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / rate
            cache.set(state_key, (tokens, now), timeout=int(period) + 1)
            return wait
        finally:
            cache.delete(lock_key)


class RedisBucket:
    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url)
        self._script = self._client.register_script(_TAKE_LUA)

    def take(self, key: str, capacity: int, period: float) -> float:
        return float(self._script(keys=[KEY_PREFIX + key], args=[capacity, period]))


_shared = CacheBucket()


@lru_cache(maxsize=4)
def _redis_bucket(url: str) -> RedisBucket:
    return RedisBucket(url)


def get_bucket() -> Bucket:
    url = getattr(settings, "REDIS_URL", "")
    return _redis_bucket(url) if url else _shared


def acquire(key: str, limit: tuple[int, float] | None, max_wait: float | None = None) -> float:
    """Take one request from ``key``'s budget, sleeping while it refills; return the seconds waited.

    Raise RateLimitedError (with ``retry_after``) rather than wait longer than ``max_wait``.
    """
    if not limit:
        return 0.0
    capacity, period = limit
    if max_wait is None:
        max_wait = float(getattr(settings, "CONNECTOR_RATE_LIMIT_MAX_WAIT", 30.0))
    bucket = get_bucket()
    waited = 0.0
    while True:
        wait = bucket.take(key, int(capacity), float(period))
        if wait <= 0:
            return waited
        if waited + wait > max_wait:
            raise RateLimitedError(f"request budget of {capacity} per {period:g} s spent", retry_after=wait)
        time.sleep(wait)
        waited += wait
