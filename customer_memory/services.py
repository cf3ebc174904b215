"""Identity resolution: which customer an event belongs to, and merging customers that are one person."""

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import connection, transaction
from django.db.models import Q

from customer_memory.choices import MergeReason
from customer_memory.identifiers import ObservedIdentifier
from customer_memory.models import Customer, Identifier, Merge, Trait
from interactions.models import Case, Interaction


@dataclass
class LinkResult:
    customer: Customer
    created: bool = False
    merges: list[Merge] = field(default_factory=list)


def _lock_identifier_keys(identifiers: list[ObservedIdentifier]) -> None:
    """Serialize linking of events that share an identifier, until the transaction ends.

    Two workers that see the same new phone number at once would otherwise both find no owner and both
    create a customer. Keys are locked in one global order so that events sharing several identifiers
    cannot deadlock. SQLite (embedded mode) serializes all writers anyway.
    """
    if connection.vendor != "postgresql":
        return
    keys = sorted(
        {
            int.from_bytes(hashlib.blake2b(f"{i.kind}:{i.value}".encode(), digest_size=8).digest(), "big", signed=True)
            for i in identifiers
        }
    )
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


@transaction.atomic
def customer_link(
    *,
    identifiers: list[ObservedIdentifier],
    traits: dict,
    source: str,
    observed_at: datetime,
    raw_event=None,
) -> LinkResult:
    """Find or create the one customer these identifiers belong to, and record what the event says of them.

    Deterministic: any identifier already on record links the event to its owner; identifiers of two or
    more customers in one event merge them into the oldest. Identifiers not yet on record are attached.
    Safe to run concurrently for events that share identifiers (see _lock_identifier_keys).
    """
    _lock_identifier_keys(identifiers)
    on_record, owners = _identifier_owners_locked(identifiers)

    result = LinkResult(customer=owners[0] if owners else None)
    if not owners:
        result.customer = Customer.objects.create(first_seen_at=observed_at, last_seen_at=observed_at)
        result.created = True
    for other in owners[1:]:
        shared = sorted(f"{i.kind}:{i.value}" for i in on_record.values() if i.customer_id in (other.pk, owners[0].pk))
        result.merges.append(
            customer_merge(
                survivor=result.customer,
                merged=other,
                reason=MergeReason.SHARED_IDENTIFIER,
                evidence={"identifiers": shared, "source": source},
                raw_event=raw_event,
            )
        )

    customer = result.customer
    new_identifiers = []
    seen_again = []
    for observed in identifiers:
        existing = on_record.get((observed.kind, observed.value))
        if existing is None:
            new_identifiers.append(
                Identifier(
                    customer=customer,
                    kind=observed.kind,
                    value=observed.value,
                    verified=observed.verified,
                    source=source,
                    first_seen_at=observed_at,
                    last_seen_at=observed_at,
                )
            )
        elif observed_at > existing.last_seen_at or (observed.verified and not existing.verified):
            existing.last_seen_at = max(existing.last_seen_at, observed_at)
            existing.verified = existing.verified or observed.verified
            seen_again.append(existing)
    Identifier.objects.bulk_create(new_identifiers)
    Identifier.objects.bulk_update(seen_again, ["last_seen_at", "verified"])

    _record_traits(customer, traits, source=source, observed_at=observed_at, raw_event=raw_event)
    return result


def _identifier_owners_locked(identifiers: list[ObservedIdentifier]) -> tuple[dict, list[Customer]]:
    """The identifiers on record among these, and their owners, oldest first, with the owners' rows locked.

    The identifier locks do not cover an owner reached through another identifier by a concurrent event
    (which may be merging it away). Locking the owners' rows, in primary-key order so that lockers cannot
    deadlock, and reading again when one turns out to have been merged meanwhile, means the caller works
    on live customers that nobody else changes until its transaction ends.
    """
    wanted = Q()
    for identifier in identifiers:
        wanted |= Q(kind=identifier.kind, value=identifier.value)
    for _ in range(5):
        on_record = {(i.kind, i.value): i for i in Identifier.objects.filter(wanted)}
        owner_ids = sorted({i.customer_id for i in on_record.values()})
        owners = list(Customer.objects.select_for_update().filter(pk__in=owner_ids).order_by("pk"))
        if len(owners) == len(owner_ids) and not any(owner.merged_into_id for owner in owners):
            break
        # An owner was merged (its identifiers moved) while we waited for its lock: read again.
    else:
        raise RuntimeError(f"owners of {sorted(on_record)} kept changing under linking; retry later")
    by_id = {owner.pk: owner for owner in owners}
    for identifier in on_record.values():
        identifier.customer = by_id[identifier.customer_id]
    return on_record, sorted(owners, key=lambda c: (c.created_at, str(c.pk)))


def _record_traits(customer: Customer, traits: dict, *, source: str, observed_at: datetime, raw_event) -> None:
    """Append the event's traits and refresh the customer's own fields from them.

    Requires the caller's transaction. A newer statement of a name wins; an older one only fills a blank,
    so events linked out of order do not roll a name back.
    """
    if raw_event is not None:
        # Relinking the same event (reprocess) replaces its statements instead of repeating them.
        Trait.objects.filter(raw_event=raw_event).delete()
    Trait.objects.bulk_create(
        Trait(customer=customer, name=name, value=value, source=source, observed_at=observed_at, raw_event=raw_event)
        for name, value in traits.items()
    )
    is_newest = customer.last_seen_at is None or observed_at >= customer.last_seen_at
    name = traits.get("name") or " ".join(p for p in (traits.get("first_name"), traits.get("last_name")) if p)
    preferred = traits.get("preferred_name") or traits.get("first_name")
    for attribute, value in (("name", name), ("preferred_name", preferred), ("language", traits.get("language"))):
        if value and (is_newest or not getattr(customer, attribute)):
            setattr(customer, attribute, value[: Customer._meta.get_field(attribute).max_length])
    if traits.get("customer_since"):
        since = date.fromisoformat(traits["customer_since"])
        # Sources disagree on tenure; the earliest date any system of record gives is the customer's.
        customer.customer_since = min(filter(None, (customer.customer_since, since)))
    customer.first_seen_at = min(filter(None, (customer.first_seen_at, observed_at)))
    customer.last_seen_at = max(filter(None, (customer.last_seen_at, observed_at)))
    customer.save()


@transaction.atomic
def customer_merge(*, survivor: Customer, merged: Customer, reason: str, evidence: dict, raw_event=None) -> Merge:
    """Move everything `merged` owns to `survivor`, mark `merged` as merged into it, and record the merge.

    Requires both customers' rows locked by the caller's transaction (select_for_update), so that no
    concurrent link writes to either while rows move. The record lists the ids of every moved row, so
    that the merge can be undone.
    """
    from channels_ingest.models import RawEvent

    owned = {
        "identifiers": Identifier.objects.filter(customer=merged),
        "traits": Trait.objects.filter(customer=merged),
        "interactions": Interaction.objects.filter(customer=merged),
        "cases": Case.objects.filter(customer=merged),
        "raw_events": RawEvent.objects.filter(customer=merged),
    }
    moved = {name: [str(pk) for pk in rows.values_list("pk", flat=True)] for name, rows in owned.items()}
    for rows in owned.values():
        rows.update(customer=survivor)
    # Flatten chains: customers merged earlier into `merged` now point straight at the survivor.
    Customer.objects.filter(merged_into=merged).update(merged_into=survivor)

    for attribute in ("name", "preferred_name", "language"):
        if not getattr(survivor, attribute):
            setattr(survivor, attribute, getattr(merged, attribute))
    survivor.customer_since = min(filter(None, (survivor.customer_since, merged.customer_since)), default=None)
    survivor.first_seen_at = min(filter(None, (survivor.first_seen_at, merged.first_seen_at)), default=None)
    survivor.last_seen_at = max(filter(None, (survivor.last_seen_at, merged.last_seen_at)), default=None)
    survivor.save()
    merged.merged_into = survivor
    merged.save(update_fields=["merged_into", "updated_at"])
    return Merge.objects.create(
        survivor=survivor, merged=merged, reason=reason, evidence=evidence, raw_event=raw_event, moved=moved
    )
