"""Linking a batch of events in bulk.

Most events decide nothing hard: every identifier they carry is either new or owned by one customer, and
their weak evidence scores no other customer into the review band. For those, `customer_link` would find
the one customer (or create it) and record what the event says. Done one event at a time that is about a
dozen SQL round trips per event; here it is about a dozen per batch.

The batch keeps the guarantees of linking one event at a time:
- An event goes in bulk only if it shares no identifier, blocking key or other claim (its interaction, its
  case) with an earlier event of the batch, and its customer is not one an earlier event reaches: events
  that touch the same person keep their order, and go through `customer_link` after the bulk commit.
- The bulk events' advisory locks (the same names customer_link takes) and their owners' row locks are held
  until the batch commits, so a concurrent worker linking a shared identifier waits, as it would for one
  event; the bulk events, sharing nothing, could have been linked concurrently in any order. The bulk
  transaction itself never waits for an advisory lock: an event whose lock another transaction holds goes
  through `customer_link`, which waits for it.
- Anything that could merge, propose a review, or hit merge protection goes to `customer_link`.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from customer_memory.bulk import rows_insert, rows_update
from customer_memory.identifiers import ObservedIdentifier
from customer_memory.identity.matching import (
    as_profile,
    blocking_keys,
    compare,
    profile_add,
    profile_holds,
    score,
)
from customer_memory.identity.profiles import (
    blocking_keys_add,
    profile_candidates_by_key,
    records_frequencies,
    stored_profiles,
    term_counts_add_many,
)
from customer_memory.identity.rules import limited_kinds
from customer_memory.models import Customer, Identifier, MatchProfile, Trait
from customer_memory.services import (
    _apply_traits,
    _identifier_row,
    _Seen,
    advisory_try_lock,
    customers_changed,
    customers_with_pending_review,
    event_evidence,
    identifier_lock_names,
)


@dataclass
class BatchEvent:
    """What one event of the batch says of who it is, with the names of what else it touches (claims: its
    interaction, its case) that a later event of the batch must not share to be linked in bulk."""

    identifiers: list[ObservedIdentifier]
    traits: dict
    source: str
    observed_at: datetime
    raw_event: object = None
    claims: set[str] = field(default_factory=set)


@dataclass
class _Plan:
    event: BatchEvent
    seen: list[_Seen]
    record: dict
    keys: set[str]

    @property
    def identifier_names(self) -> list[str]:
        return identifier_lock_names(self.seen)

    @property
    def lock_names(self) -> list[str]:
        """The advisory locks customer_link takes for this event."""
        return self.identifier_names + [f"block:{k}" for k in self.keys]


def _plan(event: BatchEvent) -> _Plan:
    seen, record, keys = event_evidence(event.identifiers, event.traits)
    return _Plan(event=event, seen=seen, record=record, keys=keys)


@transaction.atomic(savepoint=False)
def customers_link_bulk(events: list[BatchEvent], *, eligible: list[bool]) -> list[Customer | None]:
    """Link in bulk the events of the batch that can be (see the module's docstring); returns each event's
    customer, or None for the events the caller must link one at a time with customer_link, after this
    transaction commits. `eligible[i]` False keeps event i out of bulk (its timeline needs the slow path)
    while its identifiers still count as taken for the events after it. Requires PostgreSQL."""
    plans = [_plan(event) for event in events]
    # Sharing an identifier, an interaction or a case with an earlier event of the batch: after it, alone.
    # Blocking keys may be shared: the decisions below score such an event against the earlier ones too.
    taken: set[str] = set()
    chosen = set()
    for index, plan in enumerate(plans):
        names = set(plan.identifier_names) | plan.event.claims
        if eligible[index] and not names & taken:
            chosen.add(index)
        taken |= names
    # The locks customer_link would wait for, taken without waiting: an event whose identifier or blocking key
    # another worker's transaction holds now goes to customer_link after this batch commits, and waits there
    # on its own, instead of the whole batch waiting (two workers' batches often share a common name's key).
    held = advisory_try_lock({name for index in chosen for name in plans[index].lock_names})
    chosen = {index for index in chosen if not held.intersection(plans[index].lock_names)}
    if not chosen:
        return [None] * len(events)

    on_record = {
        (i.kind, i.match_key): i
        for i in Identifier.objects.filter(
            kind__in={s.observed.kind for plan in plans for s in plan.seen},
            match_key__in={s.match_key for plan in plans for s in plan.seen},
        )
    }
    owners_of = [{on_record[s.key].customer_id for s in plan.seen if s.key in on_record} for plan in plans]
    wanted_owners = sorted({next(iter(owners_of[i])) for i in chosen if len(owners_of[i]) == 1})
    owners = {
        c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=wanted_owners, merged_into__isnull=True)
    }
    all_owners = {owner for ids in owners_of for owner in ids}
    profiles = dict(MatchProfile.objects.filter(customer_id__in=all_owners).values_list("customer_id", "evidence"))
    # A known customer's repeat contact that adds nothing to their profile is not matched again (as in
    # customer_link: see _link_known_person); only the others' keys are looked up and scored.
    sole_owner = {index: next(iter(owners_of[index])) for index in chosen if len(owners_of[index]) == 1}
    repeats = {
        index
        for index, owner_id in sole_owner.items()
        if profile_holds(profiles.get(owner_id) or {}, plans[index].record)
    }
    # ... unless a review pair of the customer's is pending, which the contact may settle.
    if repeats:
        pending = customers_with_pending_review({sole_owner[index] for index in repeats})
        repeats = {index for index in repeats if sole_owner[index] not in pending}
    matched = sorted(chosen - repeats)
    found, evidence_of = profile_candidates_by_key({key for index in matched for key in plans[index].keys})
    weights = dict(zip(matched, records_frequencies([plans[i].record for i in matched]), strict=True))
    limits = limited_kinds()

    decided = {}  # event index -> (owner or None, its profile after the event, before)
    reached: set = set()  # customers the events before the one considered reach through identifiers
    later: dict[str, list] = {}  # blocking key -> the batch's bulk customers holding it after their event
    unsettled_keys: set[str] = set()  # keys an earlier event left to customer_link may bring a customer under
    unsettled: set = set()  # customers such an event reaches
    for index, plan in enumerate(plans):
        owner = False
        if index in chosen and not plan.keys & unsettled_keys:
            owner = _bulk_owner(plan, owners_of[index], owners, reached, limits, on_record)
        if owner is not False and index not in repeats:
            own = owner.pk if owner else None
            # An owner's profile in `profiles` is the one after the batch's earlier event, if it had one.
            candidates = {cid: profiles.get(cid, evidence_of[cid]) for key in plan.keys for cid in found.get(key, ())}
            candidates.update((f"batch:{i}", p) for key in plan.keys for i, p in later.get(key, ()))
            candidates.pop(own, None)
            if unsettled & candidates.keys() or _scores_into_review(plan.record, candidates, weights[index]):
                owner = False
        if owner is False:
            unsettled_keys |= plan.keys
            unsettled |= owners_of[index]
            for owner_id in owners_of[index]:
                unsettled_keys |= blocking_keys(profile_add(profiles.get(owner_id) or {}, plan.record))
        else:
            previous = (profiles.get(owner.pk) or {}) if owner else None
            profile = profile_add(previous, plan.record) if owner else as_profile(plan.record)
            decided[index] = (owner, profile, previous)
            if owner:
                profiles[owner.pk] = profile
            for key in blocking_keys(profile):
                later.setdefault(key, []).append((index, profile))
        reached |= owners_of[index]
    customers: list[Customer | None] = [None] * len(events)
    if not decided:
        return customers

    now = timezone.now()
    new_customers, known, identifiers, seen_again, traits, profile_rows, key_rows = [], {}, [], [], [], [], []
    for index, (owner, profile, previous) in decided.items():
        plan, event = plans[index], plans[index].event
        if owner is None:
            customer = Customer(first_seen_at=event.observed_at, last_seen_at=event.observed_at)
            _apply_traits(customer, event.traits, observed_at=event.observed_at)
            new_customers.append(customer)
        else:
            customer = owner
            _apply_traits(customer, event.traits, observed_at=event.observed_at)
            customer.updated_at = now
            known[customer.pk] = customer
        customers[index] = customer
        for s in plan.seen:
            existing = on_record.get(s.key)
            if existing is None:
                identifiers.append(_identifier_row(customer, s, source=event.source, observed_at=event.observed_at))
            elif event.observed_at > existing.last_seen_at or (s.observed.verified and not existing.verified):
                existing.last_seen_at = max(existing.last_seen_at, event.observed_at)
                existing.verified = existing.verified or s.observed.verified
                seen_again.append(existing)
        traits.extend(
            Trait(
                customer=customer,
                name=name,
                value=value,
                source=event.source,
                observed_at=event.observed_at,
                raw_event=event.raw_event,
            )
            for name, value in event.traits.items()
        )
        if plan.record:
            profile_rows.append(MatchProfile(customer=customer, evidence=profile, updated_at=now))
            gained = blocking_keys(profile) - (blocking_keys(previous) if previous else set())
            key_rows.extend((customer.pk, key) for key in sorted(gained))

    # A relinked event (reprocess) replaces its earlier statements, as customer_link does.
    relinked = [plans[i].event.raw_event.pk for i in decided if plans[i].event.raw_event is not None]
    if relinked:
        Trait.objects.filter(raw_event_id__in=relinked).delete()
    rows_insert(Customer, new_customers)
    rows_update(
        Customer,
        list(known.values()),
        ["name", "preferred_name", "language", "customer_since", "first_seen_at", "last_seen_at", "updated_at"],
    )
    rows_insert(Identifier, identifiers)
    rows_update(Identifier, seen_again, ["last_seen_at", "verified"])
    rows_insert(Trait, traits)
    # One row per customer: a customer in bulk is reached by one event of the batch only.
    rows_insert(MatchProfile, profile_rows, update_conflicts=["evidence", "updated_at"], unique_fields=["customer"])
    blocking_keys_add(key_rows)

    counted = [plans[i].record for i in decided if plans[i].keys]
    changed = [customer.pk for customer in customers if customer is not None]
    transaction.on_commit(lambda: term_counts_add_many(counted))
    transaction.on_commit(lambda: customers_changed(changed))
    return customers


def _bulk_owner(plan: _Plan, owner_ids: set, owners: dict, reached: set, limits: dict, on_record: dict):
    """The event's customer if it can be linked in bulk: its one live owner, or None for a new customer;
    False when it needs customer_link (two owners, an owner merged meanwhile or reached by an earlier event,
    a new value of a limited kind for a known customer)."""
    if not owner_ids:
        return None
    if len(owner_ids) > 1:
        return False
    owner_id = next(iter(owner_ids))
    owner = owners.get(owner_id)
    if owner is None or owner_id in reached:
        return False
    if any(s.observed.kind in limits and s.key not in on_record for s in plan.seen):
        return False
    return owner


def _scores_into_review(record: dict, candidates: dict, frequencies: dict) -> bool:
    """Whether any of the candidates (id -> profile: the customers sharing a blocking key with the event)
    scores in the review band or above: then customer_link decides (a merge, a review, a second merge)."""
    threshold, stored = settings.IDENTITY_REVIEW_THRESHOLD, stored_profiles()
    return any(
        score(compare(record, profile), frequencies=frequencies, stored=stored).probability >= threshold
        for profile in candidates.values()
    )
