"""Reads for explaining identity: what a customer is known by, from where, and how it came to be."""

from django.db.models import Q

from customer_memory.models import Customer, MatchCandidate, Merge


def _iso(moment):
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def merge_item(merge: Merge, *, customer_id=None) -> dict:
    """One merge as the API shows it; `role` is the customer's side when a customer is given."""
    item = {
        "id": str(merge.id),
        "survivor_id": str(merge.survivor_id),
        "merged_id": str(merge.merged_id),
        "reason": merge.reason,
        "rule": merge.rule,
        "score": merge.score,
        "evidence": merge.evidence,
        "actor": merge.actor,
        "raw_event_id": str(merge.raw_event_id) if merge.raw_event_id else None,
        "moved": {name: len(ids) for name, ids in merge.moved.items() if isinstance(ids, list)},
        "created_at": _iso(merge.created_at),
        "undone_at": _iso(merge.undone_at),
        "undone_by": merge.undone_by,
    }
    if customer_id is not None:
        item["role"] = "survivor" if merge.survivor_id == customer_id else "merged"
    return item


def customer_identity(customer: Customer, *, requested_id=None) -> dict:
    """Identifiers (with source, first and last seen, verified), traits with their source, the merges the
    customer took part in (newest first, undone ones included) and its review proposals, in six queries."""
    identifiers = [
        {
            "kind": i.kind,
            "value": i.value,
            "match_key": i.match_key,
            "verified": i.verified,
            "source": i.source,
            "first_seen_at": _iso(i.first_seen_at),
            "last_seen_at": _iso(i.last_seen_at),
        }
        for i in customer.identifiers.order_by("kind", "first_seen_at")
    ]
    traits = [
        {"name": t.name, "value": t.value, "source": t.source, "observed_at": _iso(t.observed_at)}
        for t in customer.traits.order_by("name", "-observed_at")[:200]
    ]
    merges = [
        merge_item(m, customer_id=customer.pk)
        for m in Merge.objects.filter(Q(survivor=customer) | Q(merged=customer)).order_by("-created_at")[:100]
    ]
    proposals = [
        {
            "id": str(c.id),
            "other_id": str(c.other_id if c.customer_id == customer.pk else c.customer_id),
            "reason": c.reason,
            "score": c.score,
            "status": c.status,
            "evidence": c.evidence,
            "created_at": _iso(c.created_at),
        }
        for c in MatchCandidate.objects.filter(Q(customer=customer) | Q(other=customer)).order_by("-created_at")[:50]
    ]
    return {
        "customer": {"id": str(customer.id), "name": customer.name, "created_at": _iso(customer.created_at)},
        "requested_id": str(requested_id or customer.id),
        "merged_ids": [str(pk) for pk in customer.merged_customers.values_list("pk", flat=True)],
        "identifiers": identifiers,
        "traits": traits,
        "merges": merges,
        "review": proposals,
    }
