"""The raw event inbox: accept (durably, idempotently), normalize, link, sweep, reprocess."""

import atexit
import json
import logging
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

import orjson
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.utils import timezone

from channels_ingest.choices import RawEventFormat, RawEventStatus
from channels_ingest.models import RawEvent
from channels_ingest.normalizers import Delivery, NormalizationError, NormalizedEvent, delivery_key, normalize_payload
from channels_ingest.wakeups import WakeupBuffer
from customer_memory.batch_linking import BatchEvent, customers_link_bulk
from customer_memory.bulk import rows_update, server_execute
from customer_memory.models import SuppressedIdentifier
from customer_memory.privacy import identifier_digest, suppressed_digests, suppressed_events_count
from customer_memory.services import customer_link
from interactions.services import (
    interaction_record,
    interactions_bulk_eligible,
    interactions_record_bulk,
    timeline_claims,
)

logger = logging.getLogger(__name__)


# Named tuples, not frozen dataclasses: the accept path makes two per event, and a frozen dataclass's
# __init__ (one object.__setattr__ per field) costs several times a tuple's.
class IncomingEvent(NamedTuple):
    """An event as a channel endpoint received it, before it is stored."""

    source: str
    external_id: str
    format: str
    payload: dict | list | str
    # The identifiers it carries, when the endpoint normalized it already; else they are read only if some
    # identifiers are suppressed (see _drop_suppressed).
    identifiers: tuple = ()
    # Its normalized form (NormalizedEvent.to_json()), when the endpoint normalized it already: stored with
    # it, so that workers go straight to linking instead of normalizing it a second time.
    normalized: dict | None = None


class AcceptedEvent(NamedTuple):
    id: uuid.UUID | None
    duplicate: bool
    # Carries an identifier of an erased customer who asked not to be recorded: dropped, not stored.
    suppressed: bool = False


def raw_event_accept(*, events: list[IncomingEvent]) -> list[AcceptedEvent]:
    """Store the events in the inbox, all or none, and wake a worker for each new one after commit.

    An event whose (source, external_id) is already stored — a sender's retry, or a repeat within the
    batch — is answered with the first one's id and stores nothing. Concurrent accepts of the same event
    are settled by the unique constraint: exactly one row wins, and both callers get its id. An event
    carrying a suppressed identifier (an erased customer's) is dropped, answered `suppressed`.

    Nothing suppressed is the usual case, so the INSERT itself checks that and stores nothing when something
    is: a request then costs one statement (it commits on its own, all rows or none) instead of four round
    trips (the check, BEGIN, the INSERT, COMMIT). Only when something is suppressed are the events'
    identifiers compared with the list, and the others stored.
    """
    if not events:
        return []
    answers = _store(events, unless_suppressed=True)
    if answers is not None:
        return answers
    suppressed = _drop_suppressed(events)
    kept = [event for index, event in enumerate(events) if index not in suppressed]
    answers = _store(kept, unless_suppressed=False) if kept else []
    for index in sorted(suppressed):
        answers.insert(index, AcceptedEvent(id=None, duplicate=False, suppressed=True))
    return answers


def _store(events: list[IncomingEvent], *, unless_suppressed: bool) -> list[AcceptedEvent] | None:
    """Insert the events (see _insert_new) and answer each in order; None, having stored nothing, when
    `unless_suppressed` and some identifier is suppressed."""
    # The first mention of each key, with the id it is stored under if it is new.
    candidates = {}
    for event in events:
        candidates.setdefault((event.source, event.external_id), (uuid.uuid4(), event))
    inserted = _insert_new(list(candidates.values()), unless_suppressed=unless_suppressed)
    if inserted is None:
        return None
    new_ids = [row_id for row_id, _ in candidates.values() if row_id in inserted]
    # At once in autocommit mode (the INSERT has committed); at the caller's commit inside its transaction.
    transaction.on_commit(lambda: _wake_workers(new_ids))
    stored = {key: row_id for key, (row_id, _) in candidates.items() if row_id in inserted}
    # Only retries and concurrent accepts of the same events need a second look: whose id won. (The rows
    # they conflicted with are committed: ON CONFLICT waits for a concurrent inserter to finish.)
    if len(stored) < len(candidates):
        stored.update(_ids_by_key({key for key in candidates if key not in stored}))
    answered = set()
    results = []
    for event in events:
        key = (event.source, event.external_id)
        # The first mention of a key we stored ourselves is new; retries and in-batch repeats are not.
        results.append(AcceptedEvent(id=stored[key], duplicate=key in answered or stored[key] != candidates[key][0]))
        answered.add(key)
    return results


def _drop_suppressed(events: list[IncomingEvent]) -> set[int]:
    """Indexes of the events carrying a suppressed identifier (an erased customer's), counted as dropped.

    One cheap query when nothing is suppressed, the usual case; otherwise events that came without their
    identifiers are normalized here to find them (one that cannot be is kept: linking checks again).
    """
    if not events or not SuppressedIdentifier.objects.exists():
        return set()
    carried = {}
    for index, event in enumerate(events):
        identifiers = event.identifiers
        if not identifiers:
            try:
                identifiers = normalize_payload(event.format, event.payload).identifiers
            except Exception:  # the worker records why; suppression is checked again at linking
                continue
        carried[index] = {identifier_digest(i.kind, i.value) for i in identifiers}
    suppressed = set(
        SuppressedIdentifier.objects.filter(digest__in=set().union(*carried.values())).values_list("digest", flat=True)
    )
    dropped = {index for index, digests in carried.items() if digests & suppressed}
    if dropped:
        suppressed_events_count(digest for index in dropped for digest in carried[index] & suppressed)
        logger.info("dropped %d incoming events carrying suppressed identifiers", len(dropped))
    return dropped


class RejectedEvents(ValueError):
    """Some events of a request cannot be accepted; nothing of the request was stored."""

    def __init__(self, errors: list[dict]):
        self.errors = errors
        first = errors[0]
        super().__init__(
            f"event {first['index']}: {first['error']}" if len(errors) > 1 or first["index"] else first["error"]
        )


def canonical_events_accept(*, payloads: list) -> list[AcceptedEvent]:
    """Accept canonical events (DESIGN.md) all or nothing: each must normalize, or none is stored.

    Checking the whole event here, not only its envelope, gives the sender the reason while it can still
    fix it; the worker normalizes again from the stored payload.
    """
    errors, incoming = [], []
    for index, payload in enumerate(payloads):
        try:
            event = normalize_payload(RawEventFormat.CANONICAL, payload)
        except NormalizationError as exc:
            errors.append({"index": index, "error": str(exc)})
        else:
            incoming.append(
                IncomingEvent(
                    event.source,
                    event.external_id,
                    RawEventFormat.CANONICAL,
                    payload,
                    tuple(event.identifiers),
                    event.to_json(),
                )
            )
    if errors:
        raise RejectedEvents(errors)
    return raw_event_accept(events=incoming)


def channel_events_accept(*, source: str, format: str, payloads: list) -> list[AcceptedEvent]:
    """Accept deliveries of a channel format (Segment messages, Twilio callbacks, emails, …) all or nothing.

    Only what the inbox needs is checked here (the payload's shape and the key a resend is recognised by):
    a channel system cannot fix its payload, so anything else is stored and normalized by a worker, and a
    payload that then fails is kept as a failed event to fix and reprocess, not lost.
    """
    errors, incoming = [], []
    for index, payload in enumerate(payloads):
        try:
            key = delivery_key(format, payload)
        except NormalizationError as exc:
            errors.append({"index": index, "error": str(exc)})
        else:
            incoming.append(IncomingEvent(source, key, format, payload))
    if errors:
        raise RejectedEvents(errors)
    return raw_event_accept(events=incoming)


def _insert_new(rows: list[tuple[uuid.UUID, IncomingEvent]], *, unless_suppressed: bool) -> set[uuid.UUID] | None:
    """Insert the events, each under its id, whose (source, external_id) is not stored yet, in one
    statement; returns the ids of those inserted. With `unless_suppressed`, nothing is inserted and None is
    returned when any identifier is suppressed.

    On PostgreSQL one INSERT … ON CONFLICT DO NOTHING RETURNING: a sender's retry costs no second query
    unless it carries events already stored. (Tuples, not model instances: building 500 RawEvents cost
    about 6 % of a batch's time in the web process.)
    """
    if connection.vendor != "postgresql":
        if unless_suppressed and SuppressedIdentifier.objects.exists():
            return None
        with transaction.atomic():
            RawEvent.objects.bulk_create(
                [
                    RawEvent(
                        id=row_id,
                        source=e.source,
                        external_id=e.external_id,
                        format=e.format,
                        payload=e.payload,
                        normalized=e.normalized,
                    )
                    for row_id, e in rows
                ],
                ignore_conflicts=True,
                batch_size=500,
            )
        stored = _ids_by_key({(e.source, e.external_id) for _, e in rows})
        return {row_id for row_id, e in rows if stored.get((e.source, e.external_id)) == row_id}
    now = timezone.now()
    columns = (
        [row_id for row_id, _ in rows],
        [e.source for _, e in rows],
        [e.external_id for _, e in rows],
        [e.format for _, e in rows],
        [_json_text(e.payload) for _, e in rows],
        [None if e.normalized is None else _json_text(e.normalized) for _, e in rows],
    )
    # The suppression check in the same statement (and snapshot): a row whose id is NULL says "suppressed".
    check = f"EXISTS (SELECT 1 FROM {SuppressedIdentifier._meta.db_table})" if unless_suppressed else "false"
    # Bound on the server, in binary (%b): quoting hundreds of JSON payloads costs more than the insert.
    with server_execute(
        f"""
            WITH suppressed AS (SELECT {check} AS hit),
            inserted AS (
                INSERT INTO {RawEvent._meta.db_table}
                    (id, source, external_id, format, payload, normalized, status, error, attempts,
                     received_at, updated_at)
                SELECT u.id, u.source, u.external_id, u.format, u.payload, u.normalized, %s, '', 0, %s, %s
                FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::text[], %b::text[]::jsonb[], %b::text[]::jsonb[])
                    AS u(id, source, external_id, format, payload, normalized)
                WHERE NOT (SELECT hit FROM suppressed)
                ON CONFLICT (source, external_id) DO NOTHING
                RETURNING id
            )
            SELECT id FROM inserted UNION ALL SELECT NULL FROM suppressed WHERE hit
            """,
        [RawEventStatus.PENDING.value, now, now, *columns],
    ) as cursor:
        ids = {row[0] for row in cursor.fetchall()}
    return None if None in ids else ids


def _json_text(value) -> str:
    """JSON for a jsonb column: orjson (several times faster than json), or json for what orjson refuses
    (integers past 64 bits, which Python's parser accepts)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def _ids_by_key(keys: set[tuple[str, str]]) -> dict[tuple[str, str], uuid.UUID]:
    by_source = {}
    for source, external_id in keys:
        by_source.setdefault(source, []).append(external_id)
    wanted = Q()
    for source, external_ids in by_source.items():
        wanted |= Q(source=source, external_id__in=external_ids)
    return {(s, e): pk for pk, s, e in RawEvent.objects.filter(wanted).values_list("id", "source", "external_id")}


def _wake_workers(raw_event_ids: list) -> None:
    """Publish the wake-ups of a request's new events: at once for a batch, else with other requests' (see
    channels_ingest.wakeups)."""
    if not raw_event_ids:
        return
    size = settings.INGEST_TASK_BATCH
    if len(raw_event_ids) >= size or settings.CELERY_TASK_ALWAYS_EAGER or not settings.INGEST_WAKEUP_DELAY_MS:
        enqueue_process(raw_event_ids)
    else:
        _wakeups.add(raw_event_ids, batch=size)


_wakeups = WakeupBuffer(lambda ids: enqueue_process(ids), delay=lambda: settings.INGEST_WAKEUP_DELAY_MS / 1000)
atexit.register(_wakeups.flush)


def enqueue_process(raw_event_ids) -> None:
    """Wake workers for these events: one message per INGEST_TASK_BATCH of them, since a message costs a
    worker about as much as linking an event. The inbox row is the durable record: if the broker is down
    the sweeper enqueues them later, so a failure here is logged, not raised to the sender."""
    from channels_ingest.tasks import process_raw_events_task

    ids = [str(raw_event_id) for raw_event_id in raw_event_ids]
    size = settings.INGEST_TASK_BATCH
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        try:
            process_raw_events_task.delay(chunk)
        except Exception:
            logger.exception(
                "could not enqueue %s for %d raw events (%s, …); the sweeper will retry",
                process_raw_events_task.name,
                len(chunk),
                chunk[0],
            )


@dataclass(frozen=True)
class ProcessResult:
    """What one batch run did: linked (processed or dropped as suppressed), failed normalization, or left
    pending with a linking error recorded (the sweeper brings those back)."""

    linked: int
    failed: int
    errors: int


def raw_events_process(*, raw_event_ids) -> ProcessResult:
    """Normalize and link a batch of events: the work of one Celery message.

    Normalization runs for the whole batch in one transaction (raw_events_normalize); linking, one event at
    a time, each in a transaction of its own (raw_event_link). Per-event transactions keep every event's
    locks (its row, its identifiers' advisory locks, its customer's row) only while that event links: two
    workers whose batches share identifiers then wait for each other an event at a time instead of a batch
    at a time, and cannot deadlock across events. One bad event is recorded on its row and does not stop
    its neighbours.

    Idempotent like its parts: events already processed, failed, or held by another worker are skipped. A
    DatabaseError (a deadlock, a lost connection) is raised after the rest of the batch was tried, so that
    the task is retried; the retry skips what was done.
    """
    ids = list(dict.fromkeys(str(raw_event_id) for raw_event_id in raw_event_ids))
    position = {raw_event_id: index for index, raw_event_id in enumerate(ids)}
    # In the order they were accepted: a sender's later event (one joining two customers) links after.
    # Selected by id alone, the status checked here: with `status = 'pending'` in the query, PostgreSQL
    # may plan a scan of the partial pending index (bloated by the inbox's churn) instead of the primary
    # key, and that took 1 s per batch of 200 on the 1M data set.
    rows = (
        RawEvent.objects.filter(id__in=ids)
        .order_by()
        .annotate(not_normalized=ExpressionWrapper(Q(normalized__isnull=True), output_field=BooleanField()))
        .values_list("id", "status", "not_normalized")
    )
    pending = sorted(
        ((pk, not_normalized) for pk, status, not_normalized in rows if status == RawEventStatus.PENDING),
        key=lambda row: position[str(row[0])],
    )
    # Canonical events come normalized from the accept path; the others are normalized here, together.
    unnormalized = [pk for pk, not_normalized in pending if not_normalized]
    if not pending:
        return ProcessResult(linked=0, failed=0, errors=0)
    failed = raw_events_normalize(raw_event_ids=unnormalized) if unnormalized else 0
    # Suppression is rare: one query for the batch instead of one per event when nothing is suppressed.
    check_suppressed = SuppressedIdentifier.objects.exists()
    linked = errors = 0
    retry = None
    with _asynchronous_commit():
        one_at_a_time = [pk for pk, _ in pending]
        if not check_suppressed:
            linked, one_at_a_time = _link_in_bulk(one_at_a_time)
        for raw_event_id in one_at_a_time:
            try:
                done, _ = _link(raw_event_id, check_suppressed=check_suppressed)
            except DatabaseError as exc:
                retry = retry or exc
                errors += 1
            except Exception:
                # Recorded on the event by _link; a bug for this payload must not hold back the rest.
                logger.exception("linking raw event %s failed; it stays pending for the sweeper", raw_event_id)
                errors += 1
            else:
                linked += done
    if retry is not None:
        raise retry
    return ProcessResult(linked=linked, failed=failed, errors=errors)


def _link_in_bulk(raw_event_ids: list) -> tuple[int, list]:
    """Link in one transaction the events of the batch that need no decision of their own (see
    customer_memory.batch_linking); returns how many were linked and the ids, in order, left for linking
    one at a time after it. Any error rolls the bulk back and leaves every event to the one-at-a-time path,
    which records errors per event."""
    if not settings.INGEST_BULK_LINKING or connection.vendor != "postgresql" or len(raw_event_ids) < 2:
        return 0, raw_event_ids
    try:
        with transaction.atomic():
            # Rows another worker holds are its business (the one-at-a-time path skips them likewise).
            rows = {
                str(row.pk): row
                for row in RawEvent.objects.select_for_update(skip_locked=True).filter(id__in=raw_event_ids).order_by()
                if row.status == RawEventStatus.PENDING and row.normalized is not None
            }
            rows = [rows[str(pk)] for pk in raw_event_ids if str(pk) in rows]
            events = [NormalizedEvent.from_json(row.normalized) for row in rows]
            customers = customers_link_bulk(
                [
                    BatchEvent(
                        identifiers=event.identifiers,
                        traits=event.traits,
                        source=event.source,
                        observed_at=event.occurred_at,
                        raw_event=row,
                        claims=timeline_claims(event),
                    )
                    for row, event in zip(rows, events, strict=True)
                ],
                eligible=interactions_bulk_eligible(events),
            )
            done = [(row, event, c) for row, event, c in zip(rows, events, customers, strict=True) if c is not None]
            interactions = interactions_record_bulk([(c, event, row) for row, event, c in done])
            now = timezone.now()
            for (row, _, customer), interaction in zip(done, interactions, strict=True):
                _mark_processed(row, customer=customer, interaction=interaction, now=now)
            rows_update(RawEvent, [row for row, _, _ in done], PROCESSED_FIELDS)
    except Exception:
        # A deadlock, a delivery recorded meanwhile by another worker, or a bug: one at a time decides.
        logger.warning("bulk linking of %d events failed; linking one at a time", len(raw_event_ids), exc_info=True)
        return 0, raw_event_ids
    linked = {str(row.pk) for row, _, _ in done}
    return len(linked), [pk for pk in raw_event_ids if str(pk) not in linked]


@contextmanager
def _asynchronous_commit():
    """Commit linking transactions without waiting for the WAL flush (PostgreSQL's synchronous_commit off).

    Safe here, and only here: a PostgreSQL crash can lose the last fraction of a second of such commits,
    but never a part of one, nor a later one without the earlier (WAL is replayed in order). An event whose
    linking was lost is simply pending again, with its raw row intact (accepting it committed
    synchronously, before the 2xx), and the sweeper processes it again. The accept path never runs this.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        except DatabaseError:
            # The connection broke: a new one starts with the server's default anyway.
            logger.debug("could not reset synchronous_commit", exc_info=True)


def raw_events_normalize(*, raw_event_ids) -> int:
    """Normalize the pending, not yet normalized events among these; returns how many failed.

    One transaction: the rows are taken with one SELECT … FOR UPDATE SKIP LOCKED (a row another worker
    holds is its business) and written back with one UPDATE. A payload that cannot be normalized is marked
    failed with the reason (kept for an analyst to fix and reprocess). The caller links the others.
    """
    with transaction.atomic():
        # By id alone, for the plan's sake (see raw_events_process); rows done meanwhile are left alone.
        rows = [
            raw_event
            for raw_event in RawEvent.objects.select_for_update(skip_locked=True)
            .filter(id__in=list(raw_event_ids))
            .order_by()
            if raw_event.status == RawEventStatus.PENDING and raw_event.normalized is None
        ]
        if not rows:
            return 0
        for raw_event in rows:
            _normalize_row(raw_event)
        now = timezone.now()
        for raw_event in rows:
            raw_event.updated_at = now  # a bulk write does not apply auto_now
        rows_update(RawEvent, rows, ["normalized", "status", "error", "attempts", "updated_at"])
    return sum(raw_event.status == RawEventStatus.FAILED for raw_event in rows)


def raw_event_normalize(*, raw_event_id) -> NormalizedEvent | None:
    """Normalize one pending event and enqueue its linking after commit; a payload that cannot be
    normalized is marked failed with the reason. Returns the normalized event, or None.

    Idempotent: the pending, not yet normalized row is taken under a row lock, skipping it when another
    delivery holds it, so a duplicate delivery neither normalizes twice nor counts an attempt.
    """
    with transaction.atomic():
        raw_event = (
            RawEvent.objects.select_for_update(skip_locked=True)
            .filter(id=raw_event_id, status=RawEventStatus.PENDING, normalized__isnull=True)
            .first()
        )
        if raw_event is not None:
            normalized = _normalize_row(raw_event)
            raw_event.save(update_fields=["normalized", "status", "error", "attempts", "updated_at"])
            if normalized is not None:
                transaction.on_commit(lambda: enqueue_process([raw_event_id]))
            return normalized
    # Already normalized but maybe never linked (a lost wake-up): linking is idempotent, so nudge it.
    if RawEvent.objects.filter(id=raw_event_id, status=RawEventStatus.PENDING, normalized__isnull=False).exists():
        enqueue_process([raw_event_id])
    return None


def _normalize_row(raw_event: RawEvent) -> NormalizedEvent | None:
    """Normalize the row in memory (the caller saves it, holding its row lock): its normalized form, or
    status failed and the error."""
    try:
        delivery = Delivery(source=raw_event.source, received_at=raw_event.received_at)
        normalized = normalize_payload(raw_event.format, raw_event.payload, delivery)
    # A normalizer is a pure function of the payload: running it again gives the same error, so the event
    # is parked as failed (visible, reprocessable) instead of retried. A crash is a bug to fix.
    except NormalizationError as exc:
        error = str(exc)
    except Exception as exc:
        logger.exception("normalizer %s crashed on raw event %s", raw_event.format, raw_event.id)
        error = f"normalizer crashed: {exc.__class__.__name__}: {exc}"
    else:
        error = None
    raw_event.attempts += 1
    if error is not None:
        raw_event.status = RawEventStatus.FAILED
        raw_event.error = error[:2000]
        return None
    raw_event.normalized = normalized.to_json()
    raw_event.error = ""
    return normalized


def raw_event_link(*, raw_event_id):
    """Link a normalized event to its customer and put it on the timeline, then mark it processed; returns
    the interaction (None for identity-only events, and when there was nothing to do).

    One transaction holding the raw event's row lock, taken with SKIP LOCKED: a duplicate delivery while
    another worker links it leaves at once, and one after finds it processed; neither changes anything
    nor counts an attempt. Attempts count completed runs, successful or failed, so only real failures use
    up RAW_EVENT_MAX_ATTEMPTS. An unexpected error is recorded on the event and re-raised for retry. An
    event carrying an identifier suppressed since it was accepted is deleted instead (and counted).
    """
    return _link(raw_event_id, check_suppressed=True)[1]


def _link(raw_event_id, *, check_suppressed: bool) -> tuple[bool, object]:
    """raw_event_link's work: (whether the event was linked or dropped, its interaction). No check of
    suppression with `check_suppressed=False`, for callers that found nothing suppressed just before."""
    try:
        with transaction.atomic():
            raw_event = (
                RawEvent.objects.select_for_update(skip_locked=True)
                .filter(id=raw_event_id, status=RawEventStatus.PENDING, normalized__isnull=False)
                .first()
            )
            if raw_event is None:
                return False, None
            event = NormalizedEvent.from_json(raw_event.normalized)
            hits = suppressed_digests(event.identifiers) if check_suppressed else None
            if hits:
                raw_event.delete()
                suppressed_events_count(hits)
                logger.info("dropped raw event %s: it carries a suppressed identifier", raw_event_id)
                return True, None
            link = customer_link(
                identifiers=event.identifiers,
                traits=event.traits,
                source=event.source,
                observed_at=event.occurred_at,
                raw_event=raw_event,
            )
            # Identity-only events (Segment identify, alias, group) change who the customer is, not the timeline.
            interaction = (
                interaction_record(customer=link.customer, event=event, raw_event=raw_event)
                if event.on_timeline
                else None
            )
            _mark_processed(raw_event, customer=link.customer, interaction=interaction, now=timezone.now())
            raw_event.save(update_fields=PROCESSED_FIELDS)
    except Exception as exc:
        RawEvent.objects.filter(id=raw_event_id, status=RawEventStatus.PENDING).update(
            attempts=F("attempts") + 1,
            error=f"linking failed: {exc.__class__.__name__}: {exc}"[:2000],
            updated_at=timezone.now(),
        )
        raise
    return True, interaction


PROCESSED_FIELDS = ["status", "error", "attempts", "customer", "interaction", "processed_at", "updated_at"]


def _mark_processed(raw_event: RawEvent, *, customer, interaction, now) -> None:
    """A linked event, in memory (the caller writes PROCESSED_FIELDS): a completed run counts an attempt."""
    raw_event.status = RawEventStatus.PROCESSED
    raw_event.error = ""
    raw_event.attempts += 1
    raw_event.customer = customer
    raw_event.interaction = interaction
    raw_event.processed_at = now
    raw_event.updated_at = now


def broker_backlog() -> int | None:
    """Messages waiting in the task queue; None when there is no broker (eager tasks) or it cannot say."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    from customer_memory.celery import app

    try:
        with app.connection_for_read() as connection:
            declared = connection.default_channel.queue_declare(queue=settings.CELERY_TASK_DEFAULT_QUEUE, passive=True)
            return declared.message_count
    except Exception:
        # Redis drops an empty queue altogether, so "no such queue" is the common answer for "empty".
        logger.debug("could not read the length of queue %s", settings.CELERY_TASK_DEFAULT_QUEUE, exc_info=True)
        return None


@dataclass(frozen=True)
class SweepResult:
    requeued: int
    dead: int


def raw_events_sweep(*, now=None, limit: int | None = None) -> SweepResult:
    """Re-enqueue events left pending longer than RAW_EVENT_SWEEP_AFTER (a lost wake-up, a worker killed
    mid-task); park those that used up RAW_EVENT_MAX_ATTEMPTS as dead. Bounds recovery time whatever the
    broker does with unacknowledged messages."""
    now = now or timezone.now()
    limit = limit or settings.RAW_EVENT_SWEEP_LIMIT
    stale = RawEvent.objects.filter(status=RawEventStatus.PENDING, updated_at__lt=now - settings.RAW_EVENT_SWEEP_AFTER)
    dead = stale.filter(attempts__gte=settings.RAW_EVENT_MAX_ATTEMPTS).update(
        status=RawEventStatus.DEAD, updated_at=now
    )
    backlog = broker_backlog()
    if backlog is not None and backlog >= settings.RAW_EVENT_SWEEP_MAX_BACKLOG:
        # Stale events are most likely still waiting in that queue: enqueueing them again would only add
        # duplicates (harmless, but at 100,000 events they would swamp the workers). Once the queue is
        # short, the sweep does its work, lost wake-ups included.
        logger.info("sweeper: %d messages queued; re-enqueueing deferred", backlog)
        return SweepResult(requeued=0, dead=dead)
    rows = list(
        stale.filter(attempts__lt=settings.RAW_EVENT_MAX_ATTEMPTS)
        .order_by("updated_at")
        .values_list("id", flat=True)[:limit]
    )
    # Touch them so the next sweep leaves them to the workers for another full period.
    RawEvent.objects.filter(id__in=rows).update(updated_at=now)
    # In batches, like the accept path: a worker normalizes whatever of a batch still needs it, then links.
    enqueue_process(rows)
    if rows or dead:
        logger.info("sweeper re-enqueued %d pending raw events, parked %d as dead", len(rows), dead)
    return SweepResult(requeued=len(rows), dead=dead)


def raw_event_reprocess(*, raw_event_ids) -> int:
    """Send events back through normalize and link (after a fix to their cause). Processed events are
    relinked in place: their interaction is updated, not doubled. Returns how many were queued."""
    with transaction.atomic():
        count = RawEvent.objects.filter(id__in=raw_event_ids).update(
            status=RawEventStatus.PENDING, error="", normalized=None, attempts=0, updated_at=timezone.now()
        )
        ids = list(raw_event_ids)
        transaction.on_commit(lambda: enqueue_process(ids))
    return count
