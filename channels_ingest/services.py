"""The raw event inbox: accept (durably, idempotently), normalize, link, sweep, reprocess."""

import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.utils import timezone

from channels_ingest.choices import RawEventFormat, RawEventStatus
from channels_ingest.models import RawEvent
from channels_ingest.normalizers import Delivery, NormalizationError, NormalizedEvent, delivery_key, normalize_payload
from customer_memory.models import SuppressedIdentifier
from customer_memory.privacy import identifier_digest, suppressed_digests, suppressed_events_count
from customer_memory.services import customer_link
from interactions.services import interaction_record

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncomingEvent:
    """An event as a channel endpoint received it, before it is stored."""

    source: str
    external_id: str
    format: str
    payload: dict | list | str
    # The identifiers it carries, when the endpoint normalized it already; else they are read only if some
    # identifiers are suppressed (see _drop_suppressed).
    identifiers: tuple = ()


@dataclass(frozen=True)
class AcceptedEvent:
    id: uuid.UUID | None
    duplicate: bool
    # Carries an identifier of an erased customer who asked not to be recorded: dropped, not stored.
    suppressed: bool = False


def raw_event_accept(*, events: list[IncomingEvent]) -> list[AcceptedEvent]:
    """Store the events in the inbox in one transaction and wake a worker for each new one after commit.

    An event whose (source, external_id) is already stored — a sender's retry, or a repeat within the
    batch — is answered with the first one's id and stores nothing. Concurrent accepts of the same event
    are settled by the unique constraint: exactly one row wins, and both callers get its id.
    """
    suppressed = _drop_suppressed(events)
    events = [event for index, event in enumerate(events) if index not in suppressed]
    keys = [(e.source, e.external_id) for e in events]
    if not keys:
        return [AcceptedEvent(id=None, duplicate=False, suppressed=True) for _ in suppressed]
    with transaction.atomic():
        candidates = {}
        for event in events:
            candidates.setdefault(
                (event.source, event.external_id),
                RawEvent(
                    id=uuid.uuid4(),
                    source=event.source,
                    external_id=event.external_id,
                    format=event.format,
                    payload=event.payload,
                ),
            )
        RawEvent.objects.bulk_create(candidates.values(), ignore_conflicts=True, batch_size=500)
        stored = _ids_by_key(set(keys))
        new_ids = [row.id for key, row in candidates.items() if stored[key] == row.id]
        transaction.on_commit(lambda: enqueue_normalize(new_ids))
    answered = set()
    results = []
    for key in keys:
        # The first mention of a key we stored ourselves is new; retries and in-batch repeats are not.
        results.append(AcceptedEvent(id=stored[key], duplicate=key in answered or stored[key] != candidates[key].id))
        answered.add(key)
    for index in sorted(suppressed):
        results.insert(index, AcceptedEvent(id=None, duplicate=False, suppressed=True))
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
                    event.source, event.external_id, RawEventFormat.CANONICAL, payload, tuple(event.identifiers)
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


def _ids_by_key(keys: set[tuple[str, str]]) -> dict[tuple[str, str], uuid.UUID]:
    by_source = {}
    for source, external_id in keys:
        by_source.setdefault(source, []).append(external_id)
    wanted = Q()
    for source, external_ids in by_source.items():
        wanted |= Q(source=source, external_id__in=external_ids)
    return {(s, e): pk for pk, s, e in RawEvent.objects.filter(wanted).values_list("id", "source", "external_id")}


def enqueue_normalize(raw_event_ids) -> None:
    """Wake workers for these events. The inbox row is the durable record: if the broker is down the
    sweeper enqueues them later, so a failure here is logged, not raised to the sender."""
    from channels_ingest.tasks import normalize_raw_event_task

    _enqueue(normalize_raw_event_task, raw_event_ids)


def enqueue_link(raw_event_ids) -> None:
    from channels_ingest.tasks import link_raw_event_task

    _enqueue(link_raw_event_task, raw_event_ids)


def _enqueue(task, raw_event_ids) -> None:
    for raw_event_id in raw_event_ids:
        try:
            task.delay(str(raw_event_id))
        except Exception:
            logger.exception("could not enqueue %s for raw event %s; the sweeper will retry", task.name, raw_event_id)


def raw_event_normalize(*, raw_event_id) -> NormalizedEvent | None:
    """Normalize a pending event and hand it to linking; a payload that cannot be normalized is marked
    failed with the reason (kept for an analyst to fix and reprocess).

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
            return _normalize_locked(raw_event)
    # Already normalized but maybe never linked (a lost wake-up): linking is idempotent, so nudge it.
    if RawEvent.objects.filter(id=raw_event_id, status=RawEventStatus.PENDING, normalized__isnull=False).exists():
        enqueue_link([raw_event_id])
    return None


def _normalize_locked(raw_event: RawEvent) -> NormalizedEvent | None:
    """Requires the event's row lock in the caller's transaction."""
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
        raw_event.save(update_fields=["status", "error", "attempts", "updated_at"])
        return None
    raw_event.normalized = normalized.to_json()
    raw_event.error = ""
    raw_event.save(update_fields=["normalized", "error", "attempts", "updated_at"])
    raw_event_id = raw_event.id
    transaction.on_commit(lambda: enqueue_link([raw_event_id]))
    return normalized


def raw_event_link(*, raw_event_id):
    """Link a normalized event to its customer and put it on the timeline, then mark it processed.

    One transaction holding the raw event's row lock, taken with SKIP LOCKED: a duplicate delivery while
    another worker links it leaves at once, and one after finds it processed; neither changes anything
    nor counts an attempt. Attempts count completed runs, successful or failed, so only real failures use
    up RAW_EVENT_MAX_ATTEMPTS. An unexpected error is recorded on the event and re-raised for retry. An
    event carrying an identifier suppressed since it was accepted is deleted instead (and counted).
    """
    try:
        with transaction.atomic():
            raw_event = (
                RawEvent.objects.select_for_update(skip_locked=True)
                .filter(id=raw_event_id, status=RawEventStatus.PENDING, normalized__isnull=False)
                .first()
            )
            if raw_event is None:
                return None
            event = NormalizedEvent.from_json(raw_event.normalized)
            hits = suppressed_digests(event.identifiers)
            if hits:
                raw_event.delete()
                suppressed_events_count(hits)
                logger.info("dropped raw event %s: it carries a suppressed identifier", raw_event_id)
                return None
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
            raw_event.status = RawEventStatus.PROCESSED
            raw_event.error = ""
            raw_event.attempts += 1
            raw_event.customer = link.customer
            raw_event.interaction = interaction
            raw_event.processed_at = timezone.now()
            raw_event.save(
                update_fields=["status", "error", "attempts", "customer", "interaction", "processed_at", "updated_at"]
            )
    except Exception as exc:
        RawEvent.objects.filter(id=raw_event_id, status=RawEventStatus.PENDING).update(
            attempts=F("attempts") + 1,
            error=f"linking failed: {exc.__class__.__name__}: {exc}"[:2000],
            updated_at=timezone.now(),
        )
        raise
    return interaction


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
        .annotate(not_normalized=ExpressionWrapper(Q(normalized__isnull=True), output_field=BooleanField()))
        .order_by("updated_at")
        .values_list("id", "not_normalized")[:limit]
    )
    # Touch them so the next sweep leaves them to the workers for another full period.
    RawEvent.objects.filter(id__in=[pk for pk, _ in rows]).update(updated_at=now)
    enqueue_normalize([pk for pk, not_normalized in rows if not_normalized])
    enqueue_link([pk for pk, not_normalized in rows if not not_normalized])
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
        transaction.on_commit(lambda: enqueue_normalize(ids))
    return count
