"""The default cache's own Redis client, for what Django's cache API has no words for: lists, scripts and
pipelines (the card's warm read, the throttle counter, the access-log buffer)."""

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis import Redis


def cache_redis() -> Redis | None:
    """The Redis client of the default cache, or None in embedded mode (the in-memory cache).

    Django's RedisCacheClient.get_client builds a new client object on every call, which costs more than the
    round trip it is for; one is kept per backend instance instead (Django keeps a backend per thread), on
    the backend's own connection pool. Single-server Redis: any key lives on it.
    """
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    client = getattr(backend, "_cm_client", None)
    if client is None:
        client = backend._cm_client = backend._cache.get_client(write=True)
    return client
