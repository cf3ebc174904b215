"""Per-client request budgets, counted in the cache (Redis in production) so every process shares them."""

import logging
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from rest_framework import exceptions, throttling

from api.models import ApiClient
from api.scopes import INGEST_CHANNEL_SCOPES, Scope
from customer_memory.redis_cache import cache_redis

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PERIOD_WORDS = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}
RATE_PATTERN = re.compile(r"^(\d+)/(s|sec|second|m|min|minute|h|hour|d|day)$")


def parse_rate(rate: str) -> tuple[int, int]:
    """'600/min' -> (600, 60): requests allowed per period of seconds. Raises ValueError on a bad rate."""
    match = RATE_PATTERN.match(rate.strip())
    if not match:
        raise ValueError(f"{rate!r} is not a rate like 600/min (periods: s, min, h, day)")
    return int(match[1]), _PERIODS[match[2][0]]


def _count(key: str, *, timeout: int) -> int:
    """Add one to the window's counter and return it; atomic in Redis.

    On Redis this is one round trip per request: Django's cache API would take three (SET NX, EXISTS,
    INCRBY), and the throttle runs on every request.
    """
    redis = cache_redis()
    if redis is not None:
        redis_key = caches["default"].make_and_validate_key(key)
        # One round trip: INCR, and the window's expiry set only when it has none (EXPIRE NX, Redis ≥ 7).
        pipeline = redis.pipeline(transaction=False)
        pipeline.incr(redis_key)
        pipeline.expire(redis_key, timeout, nx=True)
        count, _ = pipeline.execute()
        return count
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1


def _is_ingest(scope) -> bool:
    """Whether a view's required scope (one scope, or a tuple of alternatives) is an ingest scope."""
    scopes = scope if isinstance(scope, tuple) else (scope,)
    return any(one == Scope.INGEST or one in INGEST_CHANNEL_SCOPES for one in scopes)


@dataclass(frozen=True)
class Window:
    """One client's current fixed window in one bucket: the cache key its requests are counted under."""

    key: str
    timeout: int
    limit: int
    period: int
    index: int
    bucket: str
    client_name: str


class ApiClientRateThrottle(throttling.BaseThrottle):
    """At most API_THROTTLE_RATE requests per client per period (API_THROTTLE_RATE_INGEST for ingest views).

    A fixed window counted with the cache's atomic increment: concurrent gunicorn processes and hosts
    share one counter per client, and no read-modify-write race lets a burst through. Requests that are
    not an API client's (staff on the docs page) are not counted. The warm card read counts in its own Redis
    round trip (customer_memory.card_cache.SameTrip) with `window` and `check`, as `allow_request` does.
    """

    def window(self, request, view) -> Window | None:
        """The window this request counts in; None for requests that are not counted."""
        client = request.auth
        if not isinstance(client, ApiClient):
            return None
        bucket = "ingest" if _is_ingest(getattr(view, "required_scope", None)) else "read"
        rate = settings.API_THROTTLE_RATE_INGEST if bucket == "ingest" else settings.API_THROTTLE_RATE
        limit, period = parse_rate(rate)
        index = int(time.time() // period)
        # The token digest, not the primary key: a key reused by a recreated database never inherits counts.
        key = f"throttle:{client.token_digest[:16]}:{bucket}:{index}"
        return Window(key, period + 1, limit, period, index, bucket, client.name)

    def allow_request(self, request, view):
        window = self.window(request, view)
        if window is None:
            return True
        try:
            count = _count(window.key, timeout=window.timeout)
        except Exception:
            # The cache is down (Redis restarting): serve unthrottled rather than fail every request.
            logger.warning("throttle cache unavailable; request from %s not counted", window.client_name, exc_info=True)
            return True
        self.check(window, count)
        return True

    @staticmethod
    def check(window: Window, count: int) -> None:
        """Raise Throttled (429, Retry-After, the reason) when `count` is past the window's limit."""
        if count <= window.limit:
            return
        wait = max(1, int((window.index + 1) * window.period - time.time() + 0.999))
        raise exceptions.Throttled(
            wait=wait,
            detail=f"rate limit of {window.limit} {window.bucket} requests per {_PERIOD_WORDS[window.period]} "
            f"exceeded for API client {window.client_name!r}.",
        )
