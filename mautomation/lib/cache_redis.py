"""The Redis client behind Django's Redis cache, made once per connection pool, for the hot paths.

Django's RedisCache builds a new redis.Redis object for every call (about 0.2 ms of
Python each). The public endpoints (form posts, page views) make a few cache calls per
request, so they go through one client per pool instead. None when the cache is not
Redis (the embedded default: files), where callers use the cache API.
"""

import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

_clients: dict[int, redis.Redis] = {}


def client_and_key(key: str) -> tuple[redis.Redis, str] | tuple[None, str]:
    """A Redis client of the default cache and the key as the cache stores it; (None, key) off Redis."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None, key
    pool = backend._cache._get_connection_pool(write=True)
    client = _clients.get(id(pool))
    if client is None or client.connection_pool is not pool:
        client = _clients[id(pool)] = redis.Redis(connection_pool=pool)
    return client, backend.make_and_validate_key(key)
