"""The matcher's view of customers: MatchProfile (weak evidence) and BlockingKey rows, kept in step with
traits and identifiers by linking, merges and undos."""

from collections import defaultdict

from django.conf import settings

from customer_memory.choices import IdentifierKind
from customer_memory.identity.matching import blocking_keys, profile_add, profile_union, record_from_event
from customer_memory.models import BlockingKey, Customer, Identifier, MatchProfile, Trait


def profile_of(customer_id) -> dict:
    row = MatchProfile.objects.filter(customer_id=customer_id).values_list("evidence", flat=True).first()
    return row or {}


def profile_save(*, customer: Customer, profile: dict, previous: dict | None = None) -> None:
    """Store the customer's profile and add the blocking keys it gained. Requires the caller's transaction.

    Keys it lost are left: a stale key only brings a candidate to scoring, where its profile decides.
    """
    MatchProfile.objects.update_or_create(customer=customer, defaults={"evidence": profile})
    new_keys = blocking_keys(profile) - (blocking_keys(previous) if previous else set())
    BlockingKey.objects.bulk_create(
        [BlockingKey(customer=customer, key=key) for key in sorted(new_keys)], ignore_conflicts=True
    )


def profile_absorb(*, survivor: Customer, merged: Customer) -> None:
    """After a merge: the survivor's profile also holds the merged customer's evidence and keys."""
    survivor_profile, merged_profile = profile_of(survivor.pk), profile_of(merged.pk)
    if merged_profile:
        profile_save(
            customer=survivor, profile=profile_union(survivor_profile, merged_profile), previous=survivor_profile
        )
    MatchProfile.objects.filter(customer=merged).delete()
    BlockingKey.objects.filter(customer=merged).delete()


def profile_rebuild(customer: Customer) -> None:
    """Recompute a customer's profile and keys from the traits and identifiers it owns now (after an undo)."""
    statements = defaultdict(dict)
    for trait in Trait.objects.filter(customer=customer).order_by("observed_at"):
        statements[(trait.raw_event_id, trait.observed_at, trait.source)][trait.name] = trait.value
    identifiers = [
        (kind, key)
        for kind, key in customer.identifiers.filter(kind__in=[IdentifierKind.PHONE, IdentifierKind.EMAIL])
        .order_by("first_seen_at")
        .values_list("kind", "match_key")
    ]
    profile = {}
    for traits in statements.values():
        profile = profile_add(profile, record_from_event(traits, []))
    profile = profile_add(profile, record_from_event({}, identifiers))
    BlockingKey.objects.filter(customer=customer).delete()
    if customer.merged_into_id or not profile:
        MatchProfile.objects.filter(customer=customer).delete()
        return
    profile_save(customer=customer, profile=profile)


def profile_candidates(keys: set[str], *, exclude: set) -> list[MatchProfile]:
    """Profiles of live customers sharing a blocking key, at most IDENTITY_BLOCK_LIMIT per key: one indexed
    query whose cost depends on the keys, not on how many customers there are."""
    if not keys:
        return []
    limit = settings.IDENTITY_BLOCK_LIMIT
    customer_ids = set()
    per_key = defaultdict(int)
    for key, customer_id in BlockingKey.objects.filter(key__in=sorted(keys)).values_list("key", "customer_id")[
        : limit * len(keys)
    ]:
        # A key shared by very many customers (a common name and a big city) says little: cap it.
        if per_key[key] < limit and customer_id not in exclude:
            per_key[key] += 1
            customer_ids.add(customer_id)
    if not customer_ids:
        return []
    return list(MatchProfile.objects.filter(customer_id__in=customer_ids, customer__merged_into__isnull=True))


def identifiers_with_keys(customer_ids) -> list[Identifier]:
    return list(Identifier.objects.filter(customer_id__in=customer_ids))
