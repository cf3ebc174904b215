"""Personal-data rights: export everything held on a customer, erase it, and suppress their identifiers.

Both work on the customer as a person: the live customer and every customer merged into it. What belongs
to a customer is listed once, in `PERSONAL_DATA`: a feature that stores more about customers adds one line
there, and export and erasure both cover it.
"""

import hashlib
import hmac
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from api import access_log
from api.models import AccessLog
from channels_ingest.models import RawEvent
from customer_memory import card_cache
from customer_memory.identifiers import InvalidIdentifier, ObservedIdentifier, normalize_identifier
from customer_memory.identity.matching import record_from_event
from customer_memory.identity.normalize import identifier_match_key
from customer_memory.identity.profiles import term_counted, term_counts_subtract
from customer_memory.models import (
    BlockingKey,
    Customer,
    Identifier,
    MatchCandidate,
    MatchProfile,
    Merge,
    SuppressedIdentifier,
    Trait,
)
from interactions.models import Case, Handover, Interaction, Promise

logger = logging.getLogger(__name__)


def _raw_events(ids: list) -> QuerySet:
    """Raw events linked to the customers, or feeding rows they own (moved by a merge, say)."""
    return RawEvent.objects.filter(
        Q(customer_id__in=ids)
        | Q(id__in=Interaction.objects.filter(customer_id__in=ids).values("raw_event_id"))
        | Q(id__in=Trait.objects.filter(customer_id__in=ids).values("raw_event_id"))
        | Q(id__in=Merge.objects.filter(Q(survivor_id__in=ids) | Q(merged_id__in=ids)).values("raw_event_id"))
    )


# Section name -> the rows held on the customers with these ids. Order matters for erasure: rows are
# deleted top to bottom, so rows that others point to come last.
PERSONAL_DATA: dict[str, Callable[[list], QuerySet]] = {
    "access_log": lambda ids: AccessLog.objects.filter(customer_id__in=ids),
    "raw_events": _raw_events,
    "merges": lambda ids: Merge.objects.filter(Q(survivor_id__in=ids) | Q(merged_id__in=ids)),
    "traits": lambda ids: Trait.objects.filter(customer_id__in=ids),
    "promises": lambda ids: Promise.objects.filter(customer_id__in=ids),
    "handovers": lambda ids: Handover.objects.filter(case__customer_id__in=ids),
    "interactions": lambda ids: Interaction.objects.filter(customer_id__in=ids),
    "cases": lambda ids: Case.objects.filter(customer_id__in=ids),
    "identifiers": lambda ids: Identifier.objects.filter(customer_id__in=ids),
    # The identity engine's derived evidence and its review proposals.
    "match_candidates": lambda ids: MatchCandidate.objects.filter(Q(customer_id__in=ids) | Q(other_id__in=ids)),
    "match_profiles": lambda ids: MatchProfile.objects.filter(customer_id__in=ids),
    "blocking_keys": lambda ids: BlockingKey.objects.filter(customer_id__in=ids),
    "customers": lambda ids: Customer.objects.filter(pk__in=ids),
}


def person_customer_ids(customer: Customer) -> list:
    """The ids of the person: the live customer first, then every customer merged into it (merge chains
    are kept flat, so they all point straight at the survivor)."""
    survivor = customer.resolved()
    merged = Customer.objects.filter(merged_into=survivor).order_by("created_at").values_list("pk", flat=True)
    return [survivor.pk, *merged]


def _row(obj) -> dict:
    return {f.attname: f.value_from_object(obj) for f in obj._meta.concrete_fields}


def customer_export(*, customer: Customer, now=None) -> dict:
    """Everything held on the person, as JSON-ready rows grouped by kind, plus unlinked events carrying
    their identifiers. Raw payloads are included as received."""
    access_log.flush()  # card reads still buffered in Redis belong in the export too
    ids = person_customer_ids(customer)
    sections = {name: [_row(obj) for obj in rows(ids)] for name, rows in PERSONAL_DATA.items()}
    linked = {row["id"] for row in sections["raw_events"]}
    sections["raw_events"] += [_row(event) for event in _unlinked_raw_events(ids) if event.id not in linked]
    # The customers first, then what hangs off them: the reverse of the erasure order.
    return {"customer_id": ids[0], "exported_at": now or timezone.now(), **dict(reversed(sections.items()))}


def _unlinked_raw_events(ids: list) -> list[RawEvent]:
    """Events not (yet) linked to anyone that carry one of the person's identifiers: pending, failed or
    dead ones. Their normalized identifiers are compared when they have them; else every text in the
    payload is read as each kind of identifier (a failed event may still hold his number, in any format)."""
    values = set(Identifier.objects.filter(customer_id__in=ids).values_list("kind", "value"))
    if not values:
        return []
    kinds = {kind for kind, _ in values}
    found = []
    for event in RawEvent.objects.filter(customer__isnull=True).iterator(chunk_size=500):
        if event.normalized:
            carried = {(i["kind"], i["value"]) for i in event.normalized.get("identifiers", [])}
        else:
            carried = {(kind, value) for text in _texts(event.payload) for kind, value in _readings(text, kinds)}
        if carried & values:
            found.append(event)
    return found


def _texts(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _readings(text: str, kinds: set):
    for kind in kinds:
        try:
            yield kind, normalize_identifier(kind, text)
        except InvalidIdentifier:
            pass


@dataclass
class Erasure:
    customer_id: object
    ids: list = field(default_factory=list)
    erased: dict = field(default_factory=dict)
    suppressed: int = 0


def identifier_digest(kind: str, value: str) -> str:
    """The keyed hash a suppressed identifier is kept as: HMAC-SHA256 of 'kind:value' (normalized value)."""
    key = (settings.PRIVACY_HASH_KEY or settings.SECRET_KEY).encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def customer_erase(*, customer: Customer, suppress: bool = False) -> Erasure:
    """Delete everything held on the person (see PERSONAL_DATA), and forget their cached cards.

    With `suppress`, their identifiers are kept as keyed hashes only, and later events carrying any of
    them are dropped at ingest (and counted) instead of being stored. Locks the customers' rows first, so
    that a concurrent link (which locks owners too) either finishes before or finds them gone.
    """
    # Card reads buffered in Redis go to the table first, in their own transaction (a failed erasure must not
    # take them with it), so that the erasure deletes them with the rest.
    access_log.flush()
    return _customer_erase(customer=customer, suppress=suppress)


@transaction.atomic
def _customer_erase(*, customer: Customer, suppress: bool) -> Erasure:
    ids = person_customer_ids(customer)
    list(Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    result = Erasure(customer_id=ids[0], ids=ids)
    identifiers = list(Identifier.objects.filter(customer_id__in=ids).values_list("kind", "value"))
    if suppress:
        digests = {identifier_digest(kind, value): kind for kind, value in identifiers}
        SuppressedIdentifier.objects.bulk_create(
            [SuppressedIdentifier(digest=digest, kind=kind) for digest, kind in digests.items()],
            ignore_conflicts=True,
        )
        result.suppressed = len(digests)
    unlinked = [event.id for event in _unlinked_raw_events(ids)]
    # The term frequencies their events added, recomputed from the events before these are deleted.
    term_counts_subtract(_term_records(RawEvent.objects.filter(customer_id__in=ids, normalized__isnull=False)))
    for name, rows in PERSONAL_DATA.items():
        # Ids first: the raw events' query reads interactions and traits that are deleted below it.
        queryset = rows(ids)
        pks = set(queryset.values_list("pk", flat=True)) | (set(unlinked) if name == "raw_events" else set())
        _, by_model = queryset.model.objects.filter(pk__in=pks).delete()
        result.erased[name] = by_model.get(queryset.model._meta.label, 0)
    # After the card cache's own receivers (registered by the deletes above), which rotate tokens keyed by id.
    transaction.on_commit(lambda: forget_cached_cards(ids, identifiers))
    logger.info("erased customer %s (%d ids), suppressed %d identifiers", ids[0], len(ids), result.suppressed)
    return result


def _term_records(raw_events: QuerySet) -> list[dict]:
    """The weak-evidence records linking counted in TermCount for these events (as customer_link built them)."""
    records = []
    for normalized in raw_events.values_list("normalized", flat=True):
        keys = [
            (item["kind"], identifier_match_key(item["kind"], item["value"]))
            for item in normalized.get("identifiers", [])
        ]
        record = record_from_event(normalized.get("traits") or {}, keys)
        if term_counted(record):
            records.append(record)
    return records


def forget_cached_cards(customer_ids: list, identifiers: list[tuple[str, str]]) -> None:
    """The one place erasure reaches the card cache: every entry about the person goes."""
    card_cache.card_forget(customer_ids, identifiers)


def suppressed_digests(identifiers: Iterable[ObservedIdentifier]) -> set[str]:
    """The digests among these identifiers that are suppressed; one indexed query, none if the list is empty."""
    digests = {identifier_digest(i.kind, i.value) for i in identifiers}
    if not digests:
        return set()
    return set(SuppressedIdentifier.objects.filter(digest__in=digests).values_list("digest", flat=True))


def suppressed_events_count(digests: Iterable[str]) -> None:
    """Count dropped events against the suppressed identifiers they carried (a digest once per event)."""
    now = timezone.now()
    for digest, events in Counter(digests).items():
        SuppressedIdentifier.objects.filter(digest=digest).update(
            events_dropped=F("events_dropped") + events, last_dropped_at=now
        )
