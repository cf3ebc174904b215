"""Identity resolution: which customer an event belongs to, merging customers that are one person, and
undoing merges."""

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from customer_memory.card_cache import card_changed
from customer_memory.choices import CandidateStatus, MergeReason
from customer_memory.identifiers import ObservedIdentifier
from customer_memory.identity.matching import (
    LEVELS,
    as_profile,
    blocking_keys,
    compare,
    compare_known,
    has_weak_evidence,
    meets_auto_merge_requirements,
    profile_add,
    profile_holds,
    record_from_event,
    score,
)
from customer_memory.identity.normalize import identifier_match_key
from customer_memory.identity.profiles import (
    profile_absorb,
    profile_candidates,
    profile_of,
    profile_rebuild,
    profile_save,
    record_frequencies,
    records_frequencies,
    stored_profiles,
    term_counts_add,
)
from customer_memory.identity.rules import identifier_rule, limited_kinds
from customer_memory.models import Customer, Identifier, MatchCandidate, Merge, Trait
from interactions.models import Case, Interaction, Promise

# Most review-band candidates one event proposes: the best few are what an analyst can judge.
REVIEW_PROPOSALS = 3


@dataclass
class LinkResult:
    customer: Customer
    created: bool = False
    merges: list[Merge] = field(default_factory=list)
    candidates: list[MatchCandidate] = field(default_factory=list)


@dataclass(frozen=True)
class _Seen:
    """An identifier of the event with its match key."""

    observed: ObservedIdentifier
    match_key: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.observed.kind, self.match_key)


def _advisory_lock(names: list[str]) -> None:
    """Serialize linking of events that share an identifier or a blocking key, until the transaction ends.

    Two workers that see the same new phone number (or two records of one new person sharing a name and a
    date of birth) at once would otherwise both find no owner and both create a customer. Keys are locked
    in one global order so that events sharing several keys cannot deadlock. SQLite (embedded mode)
    serializes all writers anyway.
    """
    if connection.vendor != "postgresql":
        return
    keys = sorted({advisory_lock_key(name) for name in names})
    if keys:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k ORDER BY k", [keys])


def advisory_lock_key(name: str) -> int:
    """The 64-bit PostgreSQL advisory lock key of a lock name."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def advisory_try_lock(names: set[str]) -> set[str]:
    """Take, without waiting, the advisory locks of these names that no other transaction holds (until this
    one ends); returns the names another transaction holds. Never waiting, it cannot deadlock."""
    by_key = {}
    for name in names:
        by_key.setdefault(advisory_lock_key(name), []).append(name)
    if not by_key:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT k FROM unnest(%s::bigint[]) AS k WHERE NOT pg_try_advisory_xact_lock(k)", [sorted(by_key)]
        )
        return {name for (key,) in cursor.fetchall() for name in by_key[key]}


def event_evidence(identifiers: list[ObservedIdentifier], traits: dict) -> tuple[list["_Seen"], dict, set[str]]:
    """What linking reads from an event: its identifiers with their match keys (each once), its weak
    evidence as a record, and the blocking keys that record is matched under (none without weak evidence)."""
    seen = list({s.key: s for s in (_Seen(i, identifier_match_key(i.kind, i.value)) for i in identifiers)}.values())
    record = record_from_event(traits, [s.key for s in seen])
    keys = blocking_keys(as_profile(record)) if has_weak_evidence(record) else set()
    return seen, record, keys


def identifier_lock_names(seen: list["_Seen"]) -> list[str]:
    """The advisory lock names of an event's identifiers (its blocking keys lock as "block:<key>")."""
    return [f"identifier:{kind}:{key}" for kind, key in (s.key for s in seen)]


@transaction.atomic
def customer_link(
    *,
    identifiers: list[ObservedIdentifier],
    traits: dict,
    source: str,
    observed_at: datetime,
    raw_event=None,
) -> LinkResult:
    """Find or create the one customer this event belongs to, and record what the event says of them.

    1. Deterministic (settings.IDENTITY_RULES): an identifier on record links the event to its owner.
       Owners reached through joining identifiers (account, user id, verified phone or email, …) are one
       person and merge into the oldest, unless merge protection refuses (then: review queue). Owners
       reached only through weak identifiers (an unverified phone) are scored, and queued for review
       unless the score alone merges them.
    2. New identifiers are attached, unless that would give the customer more values of a kind than its
       limit (a second account id): then the event gets a customer of its own and the pair goes to review.
    3. Probabilistic: a name with a date of birth, an address, … is scored against the customers sharing a
       blocking key; above IDENTITY_AUTO_MERGE_THRESHOLD (and the auto-merge requirements) they merge, in
       the band above IDENTITY_REVIEW_THRESHOLD the pair goes to review.
    Every merge is recorded and can be undone. Safe to run concurrently (see _advisory_lock).
    """
    seen, record, keys = event_evidence(identifiers, traits)
    _advisory_lock(identifier_lock_names(seen) + [f"block:{k}" for k in keys])
    on_record, owners = _identifier_owners_locked(seen)
    # Read under the locks, counted after commit (term_counts_add): an event's values never weigh its own match.
    frequencies = record_frequencies(record) if keys else {}
    if keys:
        transaction.on_commit(lambda: term_counts_add(record))
    context = {"source": source, "raw_event": raw_event, "frequencies": frequencies}

    joined_ids = {
        on_record[s.key].customer_id
        for s in seen
        if s.key in on_record and identifier_rule(s.observed.kind).joins_customers(verified=s.observed.verified)
    }
    joined = [owner for owner in owners if owner.pk in joined_ids]
    if joined:
        primary = joined[0]
    elif owners:
        # No identifier vouches for a merge: the event goes to the owner of its strongest identifier.
        best = max((s for s in seen if s.key in on_record), key=lambda s: identifier_rule(s.observed.kind).priority)
        primary = on_record[best.key].customer
    else:
        primary = None

    if primary is None:
        result = _link_new_person(seen, record, keys, traits, observed_at=observed_at, **context)
    else:
        result = _link_known_person(
            primary, joined, owners, on_record, seen, record, keys, traits, observed_at=observed_at, **context
        )
    changed = [result.customer.pk]  # merges announce their own pair
    transaction.on_commit(lambda: customers_changed(changed))
    return result


def _link_new_person(seen, record, keys, traits, *, observed_at, source, raw_event, frequencies) -> LinkResult:
    """Link an event none of whose identifiers is on record: a new customer, unless its weak evidence
    scores above the auto-merge threshold against a customer sharing a blocking key.

    Then the event's customer is born merged into that one: the row exists (with merged_into set), the
    event's identifiers and traits go straight to the survivor and the Merge lists them as moved, so that
    the link is recorded and undone like any merge, at a fraction of the cost of creating and merging.
    Requires the advisory locks on the event's identifiers and blocking keys.
    """
    scored = _scored_candidates(record, keys, exclude=set(), frequencies=frequencies)
    survivor, matched = None, None
    for candidate_score, candidate_id, _ in scored:
        if candidate_score.probability < settings.IDENTITY_AUTO_MERGE_THRESHOLD:
            break
        if not meets_auto_merge_requirements(candidate_score.levels):
            continue
        candidate = Customer.objects.select_for_update().filter(pk=candidate_id, merged_into__isnull=True).first()
        if candidate is not None and not _over_limit(candidate, [s.observed.kind for s in seen]):
            survivor, matched = candidate, candidate_score
        break

    # The event's own customer keeps its name and dates even when born merged: an undo gives it back whole.
    customer = Customer(first_seen_at=observed_at, last_seen_at=observed_at, merged_into=survivor)
    _apply_traits(customer, traits, observed_at=observed_at)
    customer.save()
    holder = survivor or customer
    result = LinkResult(customer=holder, created=survivor is None)
    new_identifiers = Identifier.objects.bulk_create(
        _identifier_row(holder, s, source=source, observed_at=observed_at) for s in seen
    )
    # No earlier statements of this event to replace: a relinked event finds its identifiers on record.
    new_traits = _insert_traits(
        holder, traits, source=source, observed_at=observed_at, raw_event=raw_event, replace=False
    )
    if survivor is None:
        if record:
            profile_save(customer=customer, profile=as_profile(record))
    else:
        before = _fields_before(survivor)
        _apply_traits(survivor, traits, observed_at=observed_at)
        survivor.save()
        # Read again under the row lock: a link through an identifier may have added to it since scoring.
        previous = profile_of(survivor.pk)
        known = profile_add(previous, record)
        profile_save(customer=survivor, profile=known, previous=previous)
        evidence = {
            "score": round(matched.probability, 6),
            "weight": round(matched.weight, 3),
            "levels": matched.explain(),
            "source": source,
            "born_merged": True,
        }
        moved = {
            "identifiers": [str(i.pk) for i in new_identifiers],
            "traits": [str(t.pk) for t in new_traits],
            "survivor_before": before,
        }
        result.merges.append(
            Merge.objects.create(
                survivor=survivor,
                merged=customer,
                reason=MergeReason.PROBABILISTIC,
                rule="score",
                score=matched.probability,
                evidence=evidence,
                raw_event=raw_event,
                moved=moved,
                actor="linking",
            )
        )
        ids = [survivor.pk, customer.pk]
        transaction.on_commit(lambda: customers_changed(ids))
        _merge_other_strong_matches(
            result,
            scored,
            survivor,
            record=record,
            known=known,
            frequencies=frequencies,
            source=source,
            raw_event=raw_event,
        )
    _propose_review_band(result, scored, source=source, raw_event=raw_event)
    return result


def _merge_other_strong_matches(
    result: LinkResult,
    scored: list,
    survivor: Customer,
    *,
    record: dict,
    known: dict,
    frequencies: dict,
    source,
    raw_event,
):
    """An event that matches a second customer as strongly as the one it joined shows those two are one
    person, met earlier through records too different from each other to match directly (streaming recall).
    So does one whose evidence, with what is known of the customer it joined (`known`, that customer's
    profile with the event's record), scores a review-band candidate above the bar: later evidence settles
    the pair (rule "score:settled", see _settled_score). Each such pair is merged under the same
    threshold, requirements and refusals as any score merge; at most REVIEW_PROPOSALS of them, so a link's
    cost stays bounded. Requires the advisory locks on the keys."""
    merged = 0
    for candidate_score, candidate_id, evidence in scored:
        if candidate_score.probability < settings.IDENTITY_REVIEW_THRESHOLD or merged >= REVIEW_PROPOSALS:
            break
        if candidate_id in (survivor.pk, result.customer.pk):
            continue
        matched, rule = _settled_score(candidate_score, record, known, evidence, frequencies)
        if not rule:
            continue
        other = Customer.objects.select_for_update().filter(pk=candidate_id, merged_into__isnull=True).first()
        if other is None or other.pk == result.customer.pk:
            continue
        merged += 1
        _score_decides(
            result, other, matched, proposal="score", rule=rule, extra={}, source=source, raw_event=raw_event
        )


def _settled_score(direct, record: dict, known: dict, profile: dict, frequencies: dict):
    """(score, rule) by which a candidate scored `direct` against the event's record merges with the event's
    customer: the direct score ("score") when it meets the bar and the requirements, else the score of the
    record with what is known of its customer ("score:settled"); (direct, "") when neither does.

    A pair in the review band is settled by later evidence: an event that joins one side and brings the
    field the pair lacked (a date of birth, a town) makes the two as certain as a direct match would."""
    if direct.probability >= settings.IDENTITY_AUTO_MERGE_THRESHOLD and meets_auto_merge_requirements(direct.levels):
        return direct, "score"
    if direct.probability < settings.IDENTITY_REVIEW_THRESHOLD or not known:
        return direct, ""
    # A value's term frequency weighs its exact agreement when it is the event's own value that agrees.
    weighed = {name: share for name, share in frequencies.items() if record.get(name) in profile.get(name, ())}
    settled = score(compare_known(record, known, profile), frequencies=weighed, stored=stored_profiles())
    if settled.probability >= settings.IDENTITY_AUTO_MERGE_THRESHOLD and meets_auto_merge_requirements(settled.levels):
        return settled, "score:settled"
    return direct, ""


def _link_known_person(
    primary, joined, owners, on_record, seen, record, keys, traits, *, observed_at, source, raw_event, frequencies
) -> LinkResult:
    """Link an event some of whose identifiers are on record (primary: the customer they decide)."""
    context = {"source": source, "raw_event": raw_event}
    result = LinkResult(customer=primary)
    joined_ids = {c.pk for c in joined}
    for other in joined[1:]:
        shared = sorted(f"{k[0]}:{k[1]}" for k, i in on_record.items() if i.customer_id in (other.pk, primary.pk))
        _merge_or_propose(
            result,
            survivor=primary,
            merged=other,
            reason=MergeReason.SHARED_IDENTIFIER,
            rule="join:" + ",".join(sorted({k.split(":")[0] for k in shared})),
            evidence={"identifiers": shared, "source": source},
            **context,
        )
    for other in owners:
        if other.pk not in joined_ids and other.pk != primary.pk:
            shared = sorted(f"{k[0]}:{k[1]}" for k, i in on_record.items() if i.customer_id == other.pk)
            matched = score(compare(record, profile_of(other.pk)), frequencies=frequencies, stored=stored_profiles())
            _score_decides(
                result, other, matched, proposal="shared_identifier", extra={"identifiers": shared}, **context
            )

    _attach_identifiers(result, seen, on_record, observed_at=observed_at, **context)
    customer = result.customer
    _insert_traits(customer, traits, source=source, observed_at=observed_at, raw_event=raw_event)
    _apply_traits(customer, traits, observed_at=observed_at)
    customer.save()
    previous, known = {}, {}
    if record:
        previous = profile_of(customer.pk)
        known = profile_add(previous, record)
        profile_save(customer=customer, profile=known, previous=previous)
    # A repeat contact whose every value is already in the customer's profile has nothing new to be matched
    # on: each stored customer sharing those values was scored against them when the later of the two
    # arrived. Most contacts are repeats, and matching them again cost a blocking query and a dozen scores.
    # Unless a review pair of theirs is pending: this contact may settle it (see _settled_score).
    if keys and (result.merges or not profile_holds(previous, record) or customers_with_pending_review({customer.pk})):
        _match_weak_evidence(result, record, keys, known=known, frequencies=frequencies, **context)
    return result


def customers_with_pending_review(customer_ids: set) -> set:
    """Those of these customers on either side of a pending review pair (one indexed query)."""
    if not customer_ids:
        return set()
    pairs = MatchCandidate.objects.filter(
        Q(customer_id__in=customer_ids) | Q(other_id__in=customer_ids), status=CandidateStatus.PENDING
    ).values_list("customer_id", "other_id")
    return {customer_id for pair in pairs for customer_id in pair} & set(customer_ids)


def _identifier_row(customer, seen: "_Seen", *, source, observed_at) -> Identifier:
    return Identifier(
        customer=customer,
        kind=seen.observed.kind,
        value=seen.observed.value,
        match_key=seen.match_key,
        verified=seen.observed.verified,
        source=source,
        first_seen_at=observed_at,
        last_seen_at=observed_at,
    )


def _over_limit(customer: Customer, kinds: list[str]) -> bool:
    """Whether giving `customer` one more identifier of each of `kinds` passes a kind's limit."""
    limits = limited_kinds()
    wanted = {kind for kind in kinds if kind in limits}
    if not wanted:
        return False
    held = list(Identifier.objects.filter(customer=customer, kind__in=wanted).values_list("kind", flat=True))
    return any(held.count(kind) + kinds.count(kind) > limits[kind] for kind in wanted)


def _scored_candidates(record: dict, keys: set[str], *, exclude: set, frequencies: dict) -> list:
    """(score, customer id, profile) of the live customers sharing a blocking key, best first."""
    if not keys:
        return []
    stored = stored_profiles()
    scored = [
        (score(compare(record, evidence), frequencies=frequencies, stored=stored), customer_id, evidence)
        for customer_id, evidence in profile_candidates(keys, exclude=exclude)
    ]
    return sorted(scored, key=lambda item: -item[0].weight)


def _propose_review_band(result: LinkResult, scored: list, *, source, raw_event) -> None:
    """Queue the best few candidates scoring in the review band (and not merged) for an analyst."""
    merged_with = {m.survivor_id for m in result.merges} | {m.merged_id for m in result.merges}
    proposals = 0
    for matched, customer_id, _ in scored:
        if matched.probability < settings.IDENTITY_REVIEW_THRESHOLD or proposals >= REVIEW_PROPOSALS:
            break
        if customer_id in merged_with or customer_id == result.customer.pk:
            continue
        proposals += 1
        evidence = {
            "score": round(matched.probability, 6),
            "weight": round(matched.weight, 3),
            "levels": matched.explain(),
            "source": source,
        }
        _propose(
            result,
            result.customer,
            Customer(pk=customer_id),
            reason="score",
            evidence=evidence,
            score=matched.probability,
            raw_event=raw_event,
        )


def customers_changed(customer_ids) -> None:
    """Called after commit with the ids of the customers a link, merge or undo changed.

    The one place to hang what must follow such a change: the card cache's invalidation (rows moved with
    .update() send no signals).
    """
    card_changed(customer_ids)


def _attach_identifiers(result: LinkResult, seen: list[_Seen], on_record: dict, *, observed_at, source, raw_event):
    """Attach the event's new identifiers to its customer and refresh the known ones.

    Merge protection: if the new ones would give the customer more values of a limited kind than allowed,
    the event gets a new customer holding them, and the pair goes to the review queue.
    """
    new = [s for s in seen if s.key not in on_record]
    limits = limited_kinds()
    over_limit = []
    if new and not result.created:
        new_limited = {s.observed.kind for s in new if s.observed.kind in limits}
        if new_limited:
            held = list(
                Identifier.objects.filter(customer=result.customer, kind__in=new_limited).values_list("kind", flat=True)
            )
            over_limit = [k for k in new_limited if held.count(k) + sum(s.observed.kind == k for s in new) > limits[k]]
    if over_limit:
        previous = result.customer
        result.customer = Customer.objects.create(first_seen_at=observed_at, last_seen_at=observed_at)
        result.created = True
        _propose(
            result,
            previous,
            result.customer,
            reason="merge_protection",
            evidence={"limited_kinds": sorted(over_limit), "source": source},
            raw_event=raw_event,
        )
    Identifier.objects.bulk_create(
        _identifier_row(result.customer, s, source=source, observed_at=observed_at) for s in new
    )
    seen_again = []
    for s in seen:
        existing = on_record.get(s.key)
        if existing and (observed_at > existing.last_seen_at or (s.observed.verified and not existing.verified)):
            existing.last_seen_at = max(existing.last_seen_at, observed_at)
            existing.verified = existing.verified or s.observed.verified
            seen_again.append(existing)
    Identifier.objects.bulk_update(seen_again, ["last_seen_at", "verified"])


def _match_weak_evidence(
    result: LinkResult, record: dict, keys: set[str], *, known: dict, source, raw_event, frequencies: dict
) -> None:
    """Score the event's record against the customers sharing a blocking key; merge the best one above the
    auto-merge threshold, or settled by what is known of the event's customer (`known`, see _settled_score),
    propose the review band. Requires the advisory locks on `keys`."""
    exclude = {result.customer.pk} | {m.merged_id for m in result.merges}
    proposals = 0
    for direct, customer_id, evidence in _scored_candidates(record, keys, exclude=exclude, frequencies=frequencies):
        matched, rule = _settled_score(direct, record, known, evidence, frequencies)
        if matched.probability < settings.IDENTITY_REVIEW_THRESHOLD or proposals >= REVIEW_PROPOSALS:
            break
        other = Customer.objects.select_for_update().filter(pk=customer_id, merged_into__isnull=True).first()
        if other is None or other.pk == result.customer.pk:
            continue
        proposals += 1
        _score_decides(
            result, other, matched, proposal="score", rule=rule or "score", extra={}, source=source, raw_event=raw_event
        )


def _score_decides(
    result: LinkResult, other: Customer, matched, *, proposal: str, extra: dict, source, raw_event, rule="score"
):
    """Merge `other` with the event's customer when the score and the auto-merge requirements allow it;
    else propose the pair for review when the score is in the band, or `proposal` is a shared identifier."""
    evidence = {"score": round(matched.probability, 6), "weight": round(matched.weight, 3), "levels": matched.explain()}
    evidence.update(extra, source=source)
    if matched.probability >= settings.IDENTITY_AUTO_MERGE_THRESHOLD and meets_auto_merge_requirements(matched.levels):
        survivor, merged = sorted((result.customer, other), key=lambda c: (c.created_at, str(c.pk)))
        _merge_or_propose(
            result,
            survivor=survivor,
            merged=merged,
            reason=MergeReason.PROBABILISTIC,
            rule=rule,
            score=matched.probability,
            evidence=evidence,
            source=source,
            raw_event=raw_event,
        )
    elif matched.probability >= settings.IDENTITY_REVIEW_THRESHOLD or proposal == "shared_identifier":
        _propose(
            result,
            result.customer,
            other,
            reason=proposal,
            evidence=evidence,
            score=matched.probability,
            raw_event=raw_event,
        )


def _merge_or_propose(result: LinkResult, *, survivor, merged, reason, rule, evidence, source, raw_event, score=None):
    """Merge unless merge protection or an analyst's earlier rejection forbids it; then propose for review.
    The event's customer becomes the survivor."""
    refusal = merge_refusal(survivor, merged)
    if refusal:
        _propose(result, survivor, merged, reason=refusal, evidence=evidence, score=score, raw_event=raw_event)
        return
    result.merges.append(
        customer_merge(
            survivor=survivor,
            merged=merged,
            reason=reason,
            rule=rule,
            score=score,
            evidence=evidence,
            raw_event=raw_event,
            actor="linking",
        )
    )
    if result.customer.pk == merged.pk:
        result.customer = survivor


def merge_refusal(survivor: Customer, merged: Customer) -> str:
    """Why these two may not be merged automatically ("merge_protection", "rejected"), or "" if they may.

    Merge protection: together they would hold more values of a limited kind (two account ids) than allowed.
    """
    first, second = _ordered(survivor, merged)
    if MatchCandidate.objects.filter(customer=first, other=second, status=CandidateStatus.REJECTED).exists():
        return "rejected"
    limits = limited_kinds()
    if limits:
        held = Identifier.objects.filter(customer__in=[survivor, merged], kind__in=list(limits)).values_list(
            "kind", "match_key"
        )
        counts = {}
        for kind, _ in set(held):
            counts[kind] = counts.get(kind, 0) + 1
        if any(count > limits[kind] for kind, count in counts.items()):
            return "merge_protection"
    return ""


def _ordered(a: Customer, b: Customer) -> tuple[Customer, Customer]:
    return (a, b) if a.pk < b.pk else (b, a)


def _propose(result: LinkResult | None, a: Customer, b: Customer, *, reason, evidence, raw_event, score=None):
    """Put the pair in the review queue once; a pair already there (pending, accepted or rejected) is left."""
    first, second = _ordered(a, b)
    candidate = MatchCandidate(
        customer=first, other=second, reason=reason, evidence=evidence, score=score, raw_event=raw_event
    )
    # One statement, no savepoint: the pair's unique constraint keeps the first proposal (or decision).
    created = MatchCandidate.objects.bulk_create([candidate], ignore_conflicts=True)
    if result is not None and created and created[0].pk:
        result.candidates.append(candidate)
    return candidate


def _identifier_owners_locked(seen: list[_Seen]) -> tuple[dict, list[Customer]]:
    """The identifiers on record among these (by (kind, match_key)), and their owners, oldest first, with
    the owners' rows locked.

    The identifier locks do not cover an owner reached through another identifier by a concurrent event
    (which may be merging it away). Locking the owners' rows, in primary-key order so that lockers cannot
    deadlock, and reading again when one turns out to have been merged meanwhile, means the caller works
    on live customers that nobody else changes until its transaction ends.
    """
    wanted = Q()
    for s in seen:
        wanted |= Q(kind=s.observed.kind, match_key=s.match_key)
    for _ in range(5):
        on_record = {(i.kind, i.match_key): i for i in Identifier.objects.filter(wanted)}
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


def _insert_traits(
    customer: Customer, traits: dict, *, source: str, observed_at: datetime, raw_event, replace: bool = True
) -> list:
    """Append the event's statements about the customer. Requires the caller's transaction."""
    if raw_event is not None and replace:
        # Relinking the same event (reprocess) replaces its statements instead of repeating them.
        Trait.objects.filter(raw_event=raw_event).delete()
    return Trait.objects.bulk_create(
        Trait(customer=customer, name=name, value=value, source=source, observed_at=observed_at, raw_event=raw_event)
        for name, value in traits.items()
    )


def _apply_traits(customer: Customer, traits: dict, *, observed_at: datetime) -> None:
    """Refresh the customer's own fields from the event's traits (the caller saves).

    A newer statement of a name wins; an older one only fills a blank, so events linked out of order do not
    roll a name back. A first name or a surname alone (a chat that asked for the first name) is part of a
    name, not a new one: it only fills a blank, so "Ines Varga" does not become "Ines".
    """
    is_newest = customer.last_seen_at is None or observed_at >= customer.last_seen_at
    name = traits.get("name") or " ".join(p for p in (traits.get("first_name"), traits.get("last_name")) if p)
    partial_name = not traits.get("name") and not (traits.get("first_name") and traits.get("last_name"))
    preferred = traits.get("preferred_name") or traits.get("first_name")
    for attribute, value in (("name", name), ("preferred_name", preferred), ("language", traits.get("language"))):
        newest = is_newest and not (attribute == "name" and partial_name)
        if value and (newest or not getattr(customer, attribute)):
            setattr(customer, attribute, value[: Customer._meta.get_field(attribute).max_length])
    if traits.get("customer_since"):
        since = date.fromisoformat(traits["customer_since"])
        # Sources disagree on tenure; the earliest date any system of record gives is the customer's.
        customer.customer_since = min(filter(None, (customer.customer_since, since)))
    customer.first_seen_at = min(filter(None, (customer.first_seen_at, observed_at)))
    customer.last_seen_at = max(filter(None, (customer.last_seen_at, observed_at)))


def _fields_before(customer: Customer) -> dict:
    """The customer's own fields, as a merge record keeps them for an undo."""
    return {attribute: getattr(customer, attribute) for attribute in ("name", "preferred_name", "language")} | {
        attribute: _iso(getattr(customer, attribute))
        for attribute in ("customer_since", "first_seen_at", "last_seen_at")
    }


@transaction.atomic
def customer_merge(
    *,
    survivor: Customer,
    merged: Customer,
    reason: str,
    evidence: dict,
    raw_event=None,
    rule: str = "",
    score: float | None = None,
    actor: str = "",
) -> Merge:
    """Move everything `merged` owns to `survivor`, mark `merged` as merged into it, and record the merge.

    Requires both customers' rows locked by the caller's transaction (select_for_update), so that no
    concurrent link writes to either while rows move. The record lists the ids of every moved row and the
    survivor's fields before, so that merge_undo can give everything back. Checks no rule: callers decide
    (merge_refusal) whether the merge may happen.
    """
    from channels_ingest.models import RawEvent

    owned = {
        "identifiers": Identifier.objects.filter(customer=merged),
        "traits": Trait.objects.filter(customer=merged),
        "interactions": Interaction.objects.filter(customer=merged),
        "cases": Case.objects.filter(customer=merged),
        "promises": Promise.objects.filter(customer=merged),
        "raw_events": RawEvent.objects.filter(customer=merged),
    }
    moved = {name: [str(pk) for pk in rows.values_list("pk", flat=True)] for name, rows in owned.items()}
    for rows in owned.values():
        rows.update(customer=survivor)
    # Flatten chains: customers merged earlier into `merged` now point straight at the survivor.
    flattened = Customer.objects.filter(merged_into=merged)
    moved["customers"] = [str(pk) for pk in flattened.values_list("pk", flat=True)]
    flattened.update(merged_into=survivor)
    moved["survivor_before"] = {
        attribute: getattr(survivor, attribute) for attribute in ("name", "preferred_name", "language")
    } | {
        attribute: _iso(getattr(survivor, attribute))
        for attribute in ("customer_since", "first_seen_at", "last_seen_at")
    }

    for attribute in ("name", "preferred_name", "language"):
        if not getattr(survivor, attribute):
            setattr(survivor, attribute, getattr(merged, attribute))
    survivor.customer_since = min(filter(None, (survivor.customer_since, merged.customer_since)), default=None)
    survivor.first_seen_at = min(filter(None, (survivor.first_seen_at, merged.first_seen_at)), default=None)
    survivor.last_seen_at = max(filter(None, (survivor.last_seen_at, merged.last_seen_at)), default=None)
    survivor.save()
    merged.merged_into = survivor
    merged.save(update_fields=["merged_into", "updated_at"])
    profile_absorb(survivor=survivor, merged=merged)
    # Later events for this pair follow the analyst's word: an accepted or stale proposal is settled.
    first, second = _ordered(survivor, merged)
    merge = Merge.objects.create(
        survivor=survivor,
        merged=merged,
        reason=reason,
        evidence=evidence,
        raw_event=raw_event,
        moved=moved,
        rule=rule,
        score=score,
        actor=actor,
    )
    MatchCandidate.objects.filter(customer=first, other=second, status=CandidateStatus.PENDING).update(
        status=CandidateStatus.ACCEPTED, decided_at=timezone.now(), decided_by=actor, merge=merge
    )
    ids = [survivor.pk, merged.pk]
    transaction.on_commit(lambda: customers_changed(ids))
    return merge


def _iso(value):
    return value.isoformat() if value else None


class MergeNotUndoable(ValueError):
    """The merge was already undone; the message says so."""


@transaction.atomic
def merge_undo(*, merge_id, actor: str) -> Merge:
    """Give the merged customer back everything the merge moved, and what came in for it since.

    Rows listed in `merge.moved` return to the merged customer, wherever later merges took them; events
    linked after the merge whose identifiers all belong to the merged customer again return too (with
    their interactions and traits). The survivor's own fields are restored. The pair is then marked
    rejected, so that automatic linking does not merge it again; an analyst still can.
    """
    from channels_ingest.models import RawEvent

    merge = Merge.objects.select_for_update().select_related("merged").get(pk=merge_id)
    if merge.undone_at:
        raise MergeNotUndoable(f"merge {merge.pk} was already undone at {merge.undone_at.isoformat()}")
    merged = merge.merged
    holder = Customer.objects.get(pk=merge.survivor_id).resolved()
    locked = list(Customer.objects.select_for_update().filter(pk__in=[merged.pk, holder.pk]).order_by("pk"))
    merged = next(c for c in locked if c.pk == merged.pk)
    holder = next(c for c in locked if c.pk == holder.pk)
    moved = merge.moved
    models = {
        "identifiers": Identifier,
        "traits": Trait,
        "interactions": Interaction,
        "cases": Case,
        "promises": Promise,
        "raw_events": RawEvent,
    }
    for name, model in models.items():
        model.objects.filter(pk__in=moved.get(name, [])).update(customer=merged)
    Customer.objects.filter(pk__in=moved.get("customers", [])).update(merged_into=merged)

    own_keys = set(Identifier.objects.filter(customer=merged).values_list("kind", "match_key"))
    later = RawEvent.objects.filter(customer=holder, processed_at__gte=merge.created_at).exclude(normalized=None)
    returning = []
    for event in later.only("id", "normalized"):
        keys = {
            (i["kind"], identifier_match_key(i["kind"], i["value"])) for i in event.normalized.get("identifiers", [])
        }
        if keys and keys <= own_keys:
            returning.append(event.pk)
    RawEvent.objects.filter(pk__in=returning).update(customer=merged)
    Interaction.objects.filter(raw_event_id__in=returning).update(customer=merged)
    Trait.objects.filter(raw_event_id__in=returning).update(customer=merged)

    survivor = Customer.objects.get(pk=merge.survivor_id)
    before = moved.get("survivor_before")
    if before and survivor.pk == holder.pk:
        for attribute in ("name", "preferred_name", "language"):
            setattr(survivor, attribute, before[attribute])
        survivor.customer_since = date.fromisoformat(before["customer_since"]) if before["customer_since"] else None
        for attribute in ("first_seen_at", "last_seen_at"):
            stored = before[attribute]
            setattr(survivor, attribute, datetime.fromisoformat(stored) if stored else None)
        survivor.save()
    merged.merged_into = None
    merged.save(update_fields=["merged_into", "updated_at"])
    merge.undone_at = timezone.now()
    merge.undone_by = actor
    merge.save(update_fields=["undone_at", "undone_by"])

    first, second = _ordered(holder, merged)
    MatchCandidate.objects.update_or_create(
        customer=first,
        other=second,
        defaults={
            "status": CandidateStatus.REJECTED,
            "decided_at": merge.undone_at,
            "decided_by": actor,
            "reason": f"undone:{merge.reason}",
            "evidence": merge.evidence,
            "score": merge.score,
        },
    )
    profile_rebuild(holder)
    profile_rebuild(merged)
    ids = [holder.pk, merged.pk]
    transaction.on_commit(lambda: customers_changed(ids))
    return merge


class CandidateAlreadyDecided(ValueError):
    """The review candidate was accepted or rejected before."""


@transaction.atomic
def match_candidate_accept(*, candidate_id, actor: str) -> Merge:
    """An analyst says the pair is one person: merge them (into the older), even past merge protection,
    which is exactly what review is for."""
    candidate = MatchCandidate.objects.select_for_update().get(pk=candidate_id)
    if candidate.status != CandidateStatus.PENDING:
        raise CandidateAlreadyDecided(f"candidate {candidate.pk} is already {candidate.status}")
    pair = [
        Customer.objects.get(pk=candidate.customer_id).resolved(),
        Customer.objects.get(pk=candidate.other_id).resolved(),
    ]
    if pair[0].pk == pair[1].pk:
        raise CandidateAlreadyDecided(f"candidate {candidate.pk}: the two customers were merged meanwhile")
    locked = list(Customer.objects.select_for_update().filter(pk__in=[c.pk for c in pair]).order_by("pk"))
    survivor, merged = sorted(locked, key=lambda c: (c.created_at, str(c.pk)))
    merge = customer_merge(
        survivor=survivor,
        merged=merged,
        reason=MergeReason.REVIEW,
        rule=f"review:{candidate.reason}",
        score=candidate.score,
        evidence={"candidate": str(candidate.pk), **candidate.evidence},
        actor=actor,
    )
    _candidate_decide(candidate, CandidateStatus.ACCEPTED, actor=actor, merge=merge)
    return merge


@transaction.atomic
def match_candidate_reject(*, candidate_id, actor: str) -> MatchCandidate:
    """An analyst says the pair are two people: the pair is never proposed or merged automatically again."""
    candidate = MatchCandidate.objects.select_for_update().get(pk=candidate_id)
    if candidate.status != CandidateStatus.PENDING:
        raise CandidateAlreadyDecided(f"candidate {candidate.pk} is already {candidate.status}")
    _candidate_decide(candidate, CandidateStatus.REJECTED, actor=actor)
    return candidate


def _candidate_decide(candidate: MatchCandidate, status: str, *, actor: str, merge: Merge | None = None) -> None:
    candidate.status = status
    candidate.decided_at = timezone.now()
    candidate.decided_by = actor
    candidate.merge = merge
    candidate.save(update_fields=["status", "decided_at", "decided_by", "merge"])


@dataclass
class SettleReport:
    """What review_queue_settle did: pairs looked at, merged, and closed because they were one customer already."""

    checked: int = 0
    merged: int = 0
    closed: int = 0


def review_queue_settle(*, limit: int = 1000, actor: str = "linking:settle") -> SettleReport:
    """Merge the pending review pairs (proposed by score) that what their two customers are known by now
    settles: the pair's profiles, field by field at their best agreement (as compare_known), score above
    IDENTITY_AUTO_MERGE_THRESHOLD and meet IDENTITY_AUTO_MERGE_REQUIRES.

    Linking settles a pair only when an event joins one side and scores the other (see _settled_score);
    a pair both of whose customers grew from other events, or whose event found more candidates than it
    proposes, waits in the queue though it is as certain as a direct match. Run by beat, at most `limit`
    pairs a run, those looked at longest ago (or never) first, each pair in its own transaction with the
    two customers' rows locked, under the same refusals as any score merge (a rejected pair, merge
    protection). A pending pair whose two sides were merged meanwhile is closed as accepted.
    """
    report = SettleReport()
    pending = MatchCandidate.objects.filter(status=CandidateStatus.PENDING, reason="score").order_by(
        F("settle_checked_at").asc(nulls_first=True), "created_at"
    )
    for candidate_id in pending.values_list("pk", flat=True)[:limit]:
        report.checked += 1
        outcome = _settle_pair(candidate_id, actor=actor)
        report.merged += outcome == "merged"
        report.closed += outcome == "closed"
    return report


@transaction.atomic
def _settle_pair(candidate_id, *, actor: str) -> str:
    candidate = MatchCandidate.objects.select_for_update(skip_locked=True).filter(pk=candidate_id).first()
    if candidate is None or candidate.status != CandidateStatus.PENDING:
        return ""
    candidate.settle_checked_at = timezone.now()
    candidate.save(update_fields=["settle_checked_at"])
    ids = {Customer.objects.get(pk=pk).resolved().pk for pk in (candidate.customer_id, candidate.other_id)}
    if len(ids) == 1:
        # Merged meanwhile through other customers: nothing left for an analyst to decide.
        _candidate_decide(candidate, CandidateStatus.ACCEPTED, actor=actor)
        return "closed"
    locked = list(Customer.objects.select_for_update().filter(pk__in=ids, merged_into__isnull=True).order_by("pk"))
    if len(locked) != 2:
        return ""
    first, second = profile_of(locked[0].pk), profile_of(locked[1].pk)
    levels = compare_known({}, first, second)
    # Two profiles of up to six dates each: among 36 pairs of dates one a year off or one typo apart is
    # likely by chance (namesakes then merged on historical_50k), so a near date is not counted for the
    # pair; an exact one is, and so is a "different" (no two dates within ten years: against).
    if 0 < levels.get("dob", 0) < len(LEVELS["dob"]) - 1:
        levels.pop("dob")
    matched = score(levels, frequencies=_shared_value_frequencies(levels, first, second), stored=stored_profiles())
    if matched.probability < settings.IDENTITY_AUTO_MERGE_THRESHOLD or not meets_auto_merge_requirements(levels):
        return ""
    survivor, merged = sorted(locked, key=lambda c: (c.created_at, str(c.pk)))
    if merge_refusal(survivor, merged):
        return ""
    customer_merge(
        survivor=survivor,
        merged=merged,
        reason=MergeReason.PROBABILISTIC,
        rule="score:settled",
        score=matched.probability,
        evidence={
            "score": round(matched.probability, 6),
            "weight": round(matched.weight, 3),
            "levels": matched.explain(),
            "candidate": str(candidate.pk),
            "settled_by": "review queue",
        },
        actor=actor,
    )
    return "merged"


def _shared_value_frequencies(levels: dict, first: dict, second: dict) -> dict[str, float]:
    """For each field the two profiles agree on exactly, the term frequency of the commonest value they share:
    a pair that shares "smith" and "smyth-jones" is weighed as sharing "smith"."""
    records = [
        {name: value}
        for name, level in levels.items()
        if level == len(LEVELS[name]) - 1
        for value in set(first.get(name, ())) & set(second.get(name, ()))
    ]
    frequencies = {}
    for weighed in records_frequencies(records):
        for name, share in weighed.items():
            frequencies[name] = max(frequencies.get(name, 0.0), share)
    return frequencies
