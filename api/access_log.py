"""Recording who read which customer.

Most reads (timeline, export, identity, the admin) write their AccessLog row in the request. Card reads, the
hot path, are buffered instead when the cache is Redis: each read appends one entry to a Redis list in the
same request (so a web process that dies afterwards loses nothing), and the entries are written to the table
in batches of ACCESS_LOG_BATCH by `flush_access_log_task` in a Celery worker — sent by the read that fills a
batch, and by beat every ACCESS_LOG_FLUSH_SECONDS — and before the admin lists the log or an export or erasure
reads it. The web process only appends: no card request waits on, or queues behind, a batch INSERT. (Eager
mode runs the task in the request that sends it.)

What a crash can lose: a process killed between taking a batch off the list and committing it (a few
milliseconds) loses that batch, at most ACCESS_LOG_BATCH entries; a failed INSERT puts the batch back. Entries
still in the list are lost only if Redis loses its data (run it with appendonly for that). Erasure flushes
first and deletes what the table holds; an entry about an erased customer that reaches the table later (a
read racing the erasure) is dropped at flush, because its customer no longer exists.
"""

import ipaddress
import logging
import re
import uuid

import orjson
from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from api.choices import AccessAction
from api.models import AccessLog, ApiClient
from customer_memory.models import Customer
from customer_memory.redis_cache import cache_redis

logger = logging.getLogger(__name__)

# A caller's request id is echoed into the log only when it looks like one (no free text, no markup).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
BUFFER_KEY = "access-log:buffer"


def request_id(request) -> str:
    """The caller's X-Request-ID when it is a plausible id, else a new one."""
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


def client_ip(request) -> str | None:
    """REMOTE_ADDR: behind a proxy, configure the proxy (or gunicorn's forwarded_allow_ips) to set it."""
    address = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def record(request, customer, action: AccessAction) -> AccessLog:
    """Log that the caller of `request` saw `customer` (a Customer or its id), with one INSERT now.

    Works for DRF requests (the API client is request.auth) and admin requests (a staff user). Written in
    the request's own connection and transaction: if the log cannot be written, the read fails with it.
    """
    client = getattr(request, "auth", None)
    user = getattr(request, "user", None)
    return AccessLog.objects.create(
        customer_id=getattr(customer, "pk", customer),
        action=action,
        client=client if isinstance(client, ApiClient) else None,
        user=user if user is not None and getattr(user, "is_staff", False) else None,
        request_id=request_id(request),
        ip=client_ip(request),
    )


def _redis():
    """The cache's Redis client when card reads are buffered; None in embedded mode or with a batch of 1."""
    return cache_redis() if settings.ACCESS_LOG_BATCH > 1 else None


def _buffer_key() -> str:
    return caches["default"].make_and_validate_key(BUFFER_KEY)


def _entry(request, customer_id, action: AccessAction, client: ApiClient) -> dict:
    # customer_id before request_id: buffered_entry splits the encoded entry at its first id.
    return {
        "at": timezone.now().isoformat(),
        "customer_id": str(customer_id),
        "action": str(action),
        "client_id": client.pk,
        "request_id": request_id(request),
        "ip": client_ip(request),
    }


_ANY_CUSTOMER = "customer-id"


def buffered_entry(request, action: AccessAction, *, client: ApiClient) -> tuple[str, bytes, bytes] | None:
    """For a read whose customer is known only inside a Redis script (the warm card): the buffer's cache key
    and the encoded entry's bytes before and after the customer id, for the script to append. None when card
    reads are not buffered (then call record_read)."""
    if _redis() is None:
        return None
    head, tail = orjson.dumps(_entry(request, _ANY_CUSTOMER, action, client)).split(_ANY_CUSTOMER.encode(), 1)
    return BUFFER_KEY, head, tail


def record_read(request, customer_id, action: AccessAction, *, client: ApiClient) -> None:
    """Log an API client's read of a customer: appended to the Redis buffer (one round trip), written to the
    table in batches. Without Redis, or if Redis fails, one INSERT now: the read is never served unlogged."""
    entry = _entry(request, customer_id, action, client)
    redis = _redis()
    if redis is not None:
        try:
            length = redis.rpush(_buffer_key(), orjson.dumps(entry))
        except Exception:
            logger.warning("access-log buffer unavailable; writing the entry directly", exc_info=True)
        else:
            appended(length)
            return
    AccessLog.objects.create(
        customer_id=customer_id, action=action, client=client, request_id=entry["request_id"], ip=entry["ip"]
    )


def appended(length: int) -> None:
    """An entry was appended and the buffer holds `length`: when that fills a batch, have a worker write it
    out. If the message cannot be sent, the entries wait in Redis for beat's next flush; the read is not failed
    for it."""
    if length % settings.ACCESS_LOG_BATCH:
        return
    from api.tasks import flush_access_log_task  # api.tasks imports this module

    try:
        flush_access_log_task.delay()
    except Exception:
        logger.warning("access-log flush not sent; entries kept in Redis for beat's flush", exc_info=True)


def flush(*, limit: int | None = None) -> int:
    """Write buffered entries to the table, a batch per transaction, until the buffer is empty (or `limit`
    entries were taken); return how many were taken. Safe to run in several processes at once: each batch is
    taken off the list atomically, so every entry is written by exactly one of them."""
    redis = _redis()
    if redis is None:
        return 0
    key, batch, taken = _buffer_key(), settings.ACCESS_LOG_BATCH, 0
    while limit is None or taken < limit:
        pipeline = redis.pipeline(transaction=True)
        pipeline.lrange(key, 0, batch - 1)
        pipeline.ltrim(key, batch, -1)
        raw, _ = pipeline.execute()
        if not raw:
            break
        try:
            _insert([orjson.loads(item) for item in raw])
        except Exception:
            redis.rpush(key, *raw)  # back in the buffer for the next flush; order does not matter (`at` is kept)
            raise
        taken += len(raw)
    return taken


def _insert(entries: list[dict]) -> None:
    """One INSERT of these entries, dropping those about customers that no longer exist (erased since the read)
    and unlinking clients deleted since."""
    customer_ids = {entry["customer_id"] for entry in entries}
    live = {str(pk) for pk in Customer.objects.filter(pk__in=customer_ids).values_list("pk", flat=True)}
    client_ids = {entry["client_id"] for entry in entries if entry["client_id"] is not None}
    clients = set(ApiClient.objects.filter(pk__in=client_ids).values_list("pk", flat=True))
    rows = [
        [
            parse_datetime(entry["at"]),
            uuid.UUID(entry["customer_id"]),
            entry["action"],
            entry["client_id"] if entry["client_id"] in clients else None,
            entry["request_id"],
            entry["ip"],
        ]
        for entry in entries
        if entry["customer_id"] in live
    ]
    if not rows:
        return
    # Raw SQL: the model's `at` is auto_now_add, which bulk_create would overwrite with the flush time.
    fields = [AccessLog._meta.get_field(name) for name in ("at", "customer_id", "action", "client", "request_id", "ip")]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    rows = [
        [field.get_db_prep_value(value, connection) for field, value in zip(fields, row, strict=True)] for row in rows
    ]
    table = connection.ops.quote_name(AccessLog._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})", rows)
