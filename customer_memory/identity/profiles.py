"""The matcher's view of customers: MatchProfile (weak evidence) and BlockingKey rows, kept in step with
traits and identifiers by linking, merges and undos."""

import time
from collections import defaultdict

import orjson
from django.conf import settings
from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from customer_memory.bulk import server_execute
from customer_memory.choices import IdentifierKind
from customer_memory.identity.matching import (
    TERM_FREQUENCY_FIELDS,
    as_profile,
    blocking_keys,
    has_weak_evidence,
    parameters,
    profile_add,
    profile_union,
    record_from_event,
    term_frequency,
)
from customer_memory.models import BlockingKey, Customer, MatchProfile, TermCount, Trait


def blocking_keys_add(rows: list[tuple]) -> None:
    """Add (customer id, key) rows, skipping those already stored, in one statement. Tuples, not model
    instances: a batch of a hundred new customers brings about a thousand keys, and building a BlockingKey
    for each cost a tenth of bulk linking's Python time."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        BlockingKey.objects.bulk_create([BlockingKey(customer_id=c, key=k) for c, k in rows], ignore_conflicts=True)
        return
    sql = f"""
        INSERT INTO {BlockingKey._meta.db_table} (customer_id, key)
        SELECT * FROM unnest(%b::uuid[], %b::text[]) ON CONFLICT DO NOTHING
    """
    server_execute(sql, [[customer_id for customer_id, _ in rows], [key for _, key in rows]]).close()


def profile_of(customer_id) -> dict:
    row = MatchProfile.objects.filter(customer_id=customer_id).values_list("evidence", flat=True).first()
    return row or {}


def profile_save(*, customer: Customer, profile: dict, previous: dict | None = None) -> None:
    """Store the customer's profile (one upsert) and add the blocking keys it gained. Requires the caller's
    transaction. Keys it lost are left: a stale key only brings a candidate to scoring, where the profile
    decides."""
    MatchProfile.objects.bulk_create(
        [MatchProfile(customer=customer, evidence=profile, updated_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["customer"],
        update_fields=["evidence", "updated_at"],
    )
    new_keys = blocking_keys(profile) - (blocking_keys(previous) if previous else set())
    blocking_keys_add([(customer.pk, key) for key in sorted(new_keys)])


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


def profile_candidates(keys: set[str], *, exclude: set) -> list[tuple]:
    """(customer id, profile) of live customers sharing a blocking key, at most IDENTITY_BLOCK_LIMIT per key.

    One indexed query whose cost depends on the keys, not on how many customers there are: a key shared by
    very many customers (a common name in a big town) says little, so each key is capped.
    """
    if not keys:
        return []
    if connection.vendor == "postgresql":
        evidence_of = profile_candidates_by_key(keys)[1]
    else:
        limit = settings.IDENTITY_BLOCK_LIMIT
        customer_ids = set()
        for key in sorted(keys):
            customer_ids.update(BlockingKey.objects.filter(key=key).values_list("customer_id", flat=True)[:limit])
        evidence_of = dict(
            MatchProfile.objects.filter(customer_id__in=customer_ids, customer__merged_into__isnull=True).values_list(
                "customer_id", "evidence"
            )
        )
    return [(customer_id, evidence) for customer_id, evidence in evidence_of.items() if customer_id not in exclude]


def record_frequencies(record: dict) -> dict[str, float]:
    """The term frequency of each of the record's values that are weighed by it (TERM_FREQUENCY_FIELDS),
    smoothed towards the field's average u: one indexed query for the values and the fields' totals."""
    return records_frequencies([record])[0]


def _term_rows(record: dict) -> list[tuple[str, str]]:
    """The (field, value) rows of TermCount one record counts in: its weighed values, and their fields' totals."""
    return sorted(
        {(name, value[:128]) for name in TERM_FREQUENCY_FIELDS if (value := record.get(name))}
        | {(name, "") for name in TERM_FREQUENCY_FIELDS if record.get(name)}
    )


def term_counts_add(record: dict) -> None:
    """Count the record's weighed values (and their fields' totals) in TermCount: one upsert, in its own
    short transaction, rows in one sorted order so that concurrent upserts cannot deadlock. Called after the
    link commits: a count missed by a crash only makes a value look a little rarer."""
    term_counts_add_many([record])


def term_counted(record: dict) -> bool:
    """Whether linking counted this event's record in TermCount (customer_link does for records it blocks on)."""
    return has_weak_evidence(record) and bool(blocking_keys(as_profile(record)))


def term_counts_subtract(records: list[dict]) -> None:
    """Erasure: take these records' counts back out of TermCount, and delete the values no one else carries,
    so that a rare name or town of an erased person does not outlive them. Rows in sorted order, as in
    term_counts_add, so that a concurrent upsert cannot deadlock with it."""
    counts = defaultdict(int)
    for record in records:
        for row in _term_rows(record):
            counts[row] += 1
    for (name, value), count in sorted(counts.items()):
        TermCount.objects.filter(field=name, value=value).update(count=F("count") - count)
    # A value counted twice (an event reprocessed) may go below its share: gone either way.
    TermCount.objects.filter(count__lte=0).exclude(value="").delete()


_stored = {"count": 0, "until": 0.0}
STORED_PROFILES_TTL = 60.0  # seconds: the prior moves with the store's size, not with each event


def stored_profiles() -> int:
    """About how many customers have a match profile (the prior's "among how many", see matching.prior_at).
    PostgreSQL's own estimate of the table's rows (kept by autovacuum's analyze), read at most once a minute
    per process; 0 while the table has never been analyzed, i.e. while it is small."""
    now = time.monotonic()
    if now >= _stored["until"]:
        table = MatchProfile._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass", [table])
            else:
                cursor.execute(f"SELECT count(*) FROM {table}")
            _stored.update(count=cursor.fetchone()[0], until=now + STORED_PROFILES_TTL)
    return _stored["count"]


def profile_candidates_by_key(keys: set[str]) -> tuple[dict[str, list], dict]:
    """profile_candidates for many records at once: which live customers each blocking key finds (at most
    IDENTITY_BLOCK_LIMIT per key, as there), and their profiles, each sent once however many keys find it.
    One query on PostgreSQL."""
    if not keys:
        return {}, {}
    limit = settings.IDENTITY_BLOCK_LIMIT
    sql = f"""
        SELECT array_agg(hit.key), p.customer_id, p.evidence::text
        FROM unnest(%b::text[]) AS wanted(key)
        CROSS JOIN LATERAL (
            SELECT b.key, b.customer_id FROM {BlockingKey._meta.db_table} b WHERE b.key = wanted.key LIMIT %s
        ) AS hit
        JOIN {MatchProfile._meta.db_table} p ON p.customer_id = hit.customer_id
        JOIN {Customer._meta.db_table} c ON c.id = hit.customer_id AND c.merged_into_id IS NULL
        GROUP BY p.customer_id
    """
    found, evidence_of = defaultdict(list), {}
    with server_execute(sql, [sorted(keys), limit]) as cursor:
        for hit_keys, customer_id, evidence in cursor.fetchall():
            for key in hit_keys:
                found[key].append(customer_id)
            evidence_of[customer_id] = orjson.loads(evidence)
    return found, evidence_of


def records_frequencies(records: list[dict]) -> list[dict[str, float]]:
    """record_frequencies of many records, with one query for all of them."""
    wanted = {(name, record[name][:128]) for record in records for name in TERM_FREQUENCY_FIELDS if record.get(name)}
    if not wanted:
        return [{} for _ in records]
    pairs = sorted(wanted | {(name, "") for name, _ in wanted})
    if connection.vendor == "postgresql":
        # Hundreds of (field, value) pairs per batch: one indexed join on arrays bound in binary, not an OR
        # of hundreds of terms compiled by the ORM.
        sql = f"""
            SELECT t.field, t.value, t.count FROM {TermCount._meta.db_table} t
            JOIN unnest(%b::text[], %b::text[]) AS wanted(field, value) USING (field, value)
        """
        with server_execute(sql, [[f for f, _ in pairs], [v for _, v in pairs]]) as cursor:
            counts = {(f, v): c for f, v, c in cursor.fetchall()}
    else:
        query = Q()
        for name, value in pairs:
            query |= Q(field=name, value=value)
        counts = {(f, v): c for f, v, c in TermCount.objects.filter(query).values_list("field", "value", "count")}
    fields = parameters()["fields"]
    return [
        {
            name: term_frequency(counts.get((name, value[:128]), 0), counts.get((name, ""), 0), fields[name]["u"][-1])
            for name in TERM_FREQUENCY_FIELDS
            if (value := record.get(name)) and name in fields
        }
        for record in records
    ]


def term_counts_add_many(records: list[dict]) -> None:
    """term_counts_add for many records: one upsert of their summed counts."""
    counts = defaultdict(int)
    for record in records:
        for row in _term_rows(record):
            counts[row] += 1
    if not counts:
        return
    rows = sorted(counts.items())
    table = TermCount._meta.db_table
    values = ", ".join(["(%s, %s, %s)"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (field, value, count) VALUES {values} "
            f"ON CONFLICT (field, value) DO UPDATE SET count = {table}.count + EXCLUDED.count",
            [item for (name, value), count in rows for item in (name, value, count)],
        )
