"""Per-client request budgets, counted in the cache (Redis in production) so every process shares them."""

import logging
import re
import time

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


class ApiClientRateThrottle(throttling.BaseThrottle):
    """At most API_THROTTLE_RATE requests per client per period (API_THROTTLE_RATE_INGEST for ingest views).

    A fixed window counted with the cache's atomic increment: concurrent gunicorn processes and hosts
    share one counter per client, and no read-modify-write race lets a burst through. Requests that are
    not an API client's (staff on the docs page) are not counted.
    """

    def allow_request(self, request, view):
        client = request.auth
        if not isinstance(client, ApiClient):
            return True
        bucket = "ingest" if _is_ingest(getattr(view, "required_scope", None)) else "read"
        rate = settings.API_THROTTLE_RATE_INGEST if bucket == "ingest" else settings.API_THROTTLE_RATE
        limit, period = parse_rate(rate)
        now = time.time()
        window = int(now // period)
        # The token digest, not the primary key: a key reused by a recreated database never inherits counts.
        key = f"throttle:{client.token_digest[:16]}:{bucket}:{window}"
        try:
            count = _count(key, timeout=period + 1)
        except Exception:
            # The cache is down (Redis restarting): serve unthrottled rather than fail every request.
            logger.warning("throttle cache unavailable; request from %s not counted", client.name, exc_info=True)
            return True
        if count <= limit:
            return True
        wait = max(1, int((window + 1) * period - now + 0.999))
        raise exceptions.Throttled(
            wait=wait,
            detail=f"rate limit of {limit} {bucket} requests per {_PERIOD_WORDS[period]} exceeded for API client "
            f"{client.name!r}.",
        )
