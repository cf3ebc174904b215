import uuid

from django.db import models

from customer_memory.choices import CandidateStatus, IdentifierKind, MergeReason


class CustomerQuerySet(models.QuerySet):
    def live(self):
        """Customers that have not been merged into another one."""
        return self.filter(merged_into__isnull=True)

    def by_identifier(self, kind: str, value: str):
        """The customer holding the identifier (kind, normalized value), or None; matched on its match key,
        so a phone's national variants (Brazil's 9th digit, Mexico's +52 1, …) find the same customer.

        Identifiers always move to the survivor of a merge, so the holder is never a merged-away customer.
        """
        from customer_memory.identity.normalize import identifier_match_key

        return self.filter(identifiers__kind=kind, identifiers__match_key=identifier_match_key(kind, value)).first()


class Customer(models.Model):
    """One person the company serves, across every channel.

    Created by the linking service when an event carries no identifier already on record; its name and
    dates are refreshed from the traits events carry. When merged into another customer it keeps its row
    (so old ids and the merge history still resolve) with `merged_into` set, and owns nothing any more.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, blank=True)
    preferred_name = models.CharField(max_length=100, blank=True)
    language = models.CharField(max_length=16, blank=True)
    # From the source system when an event says so; else tenure counts from first_seen_at.
    customer_since = models.DateField(null=True, blank=True)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_customers"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.name or f"customer {str(self.id)[:8]}"

    def resolved(self) -> "Customer":
        """The customer this one now is: itself, or the survivor at the end of its merge chain."""
        customer = self
        seen = {customer.pk}
        while customer.merged_into_id and customer.merged_into_id not in seen:
            seen.add(customer.merged_into_id)
            customer = customer.merged_into
        return customer


class Identifier(models.Model):
    """A normalized key (phone, email, account id, …) that belongs to exactly one customer.

    Written by the linking service the first time an event carries it; moved to the survivor by a merge.
    The unique (kind, match_key) constraint is what makes two workers seeing a new identifier at once end
    with one owner.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identifiers")
    kind = models.CharField(max_length=20, choices=IdentifierKind.choices)
    value = models.CharField(max_length=255, help_text="As first seen, normalized (E.164 phone, folded email).")
    # What linking and lookups compare: national variants of one phone, or (by setting) provider variants
    # of one email, share it.
    match_key = models.CharField(max_length=255)
    verified = models.BooleanField(default=False)
    source = models.CharField(max_length=100, help_text="The system that first reported this identifier.")
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "match_key"], name="identifier_kind_match_key_unique")]
        indexes = [models.Index(fields=["customer", "kind"], name="identifier_customer_kind")]
        ordering = ["kind", "value"]

    def __str__(self):
        return f"{self.kind}:{self.value}"


class Trait(models.Model):
    """One fact about a customer as one source stated it at one time (name, date of birth, address, …).

    Appended by the linking service for each event that carries traits; the card reads the latest per name.
    Keeping every statement with its source and time is what lets an agent confirm instead of asking again.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="traits")
    name = models.CharField(max_length=64)
    value = models.JSONField()
    source = models.CharField(max_length=100)
    observed_at = models.DateTimeField()
    raw_event = models.ForeignKey(
        "channels_ingest.RawEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="traits"
    )

    class Meta:
        indexes = [models.Index(fields=["customer", "name", "-observed_at"], name="trait_customer_name_latest")]
        ordering = ["name", "-observed_at"]

    def __str__(self):
        return f"{self.name}={self.value} ({self.source})"


class Merge(models.Model):
    """The record of one customer merged into another: what moved, why, on what evidence, by whom.

    Written by the merge service. `moved` lists the ids of the rows that changed owner (and the survivor's
    fields before) so that an undo can give them back; `undone_at` is set by the undo, which keeps the row.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    survivor = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges_absorbed")
    merged = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges_into_other")
    reason = models.CharField(max_length=32, choices=MergeReason.choices)
    evidence = models.JSONField(default=dict, help_text="The identifiers or score the merge rests on.")
    raw_event = models.ForeignKey(
        "channels_ingest.RawEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="merges"
    )
    moved = models.JSONField(default=dict)
    rule = models.CharField(max_length=64, blank=True, help_text="The rule that decided: join:account, score, …")
    score = models.FloatField(null=True, blank=True, help_text="Match probability, for merges on weak evidence.")
    actor = models.CharField(max_length=200, blank=True, help_text="Who decided: linking, or an analyst or client.")
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.merged_id} → {self.survivor_id}"


class SuppressedIdentifier(models.Model):
    """An identifier of an erased customer who asked not to be recorded again, kept only as a keyed hash.

    Written by the erasure service (`customer_memory.privacy.customer_erase` with suppress); read by the
    ingest path, which drops events carrying a suppressed identifier before storing them and counts them
    here. The HMAC key (PRIVACY_HASH_KEY) keeps the digest from being reversed by hashing every phone number.
    """

    digest = models.CharField(max_length=64, unique=True, help_text="HMAC-SHA256 of kind:value.")
    kind = models.CharField(max_length=20, choices=IdentifierKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    events_dropped = models.PositiveIntegerField(default=0)
    last_dropped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind}:{self.digest[:12]}…"


class MatchProfile(models.Model):
    """The weak evidence of one live customer in the folded forms the matcher compares (given names,
    surnames, dates of birth, postcodes, cities, streets, phones, emails; a list of values each).

    Derived data: written by linking from traits and identifiers, rebuilt after a merge or an undo.
    """

    customer = models.OneToOneField(Customer, primary_key=True, on_delete=models.CASCADE, related_name="profile")
    evidence = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"profile of {self.customer_id}"


class TermCount(models.Model):
    """How many linked events carried one folded value of a field (given "thomas", city "wirral"), and, under
    the value "", how many carried the field at all: the term frequencies that weigh an exact agreement
    (a shared rare surname says more than a shared "smith").

    Written by linking after its transaction commits, in one short upsert of its own (so that no link holds a
    lock on a common value like "london" for its whole transaction); a frequency, not an inventory, so only
    erasure takes counts back out (and deletes the values nobody else carries). Read once per link.
    """

    field = models.CharField(max_length=16)
    value = models.CharField(max_length=128)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["field", "value"], name="term_count_field_value")]

    def __str__(self):
        return f"{self.field}={self.value!r}: {self.count}"


class BlockingKey(models.Model):
    """One key (e.g. "given+surname", "surname+dob") under which a customer can be found as a candidate.

    Derived from the MatchProfile by linking. Looking candidates up through this indexed table instead of
    comparing with every customer is what keeps the cost of a link flat as customers grow.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="blocking_keys")
    key = models.CharField(max_length=128)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "customer"], name="blocking_key_key_customer_unique")]

    def __str__(self):
        return self.key


class MatchCandidate(models.Model):
    """A pair of customers that may be one person, waiting for an analyst (the review queue).

    Written by linking when weak evidence scores in the review band, or when a merge is refused (merge
    protection, a weak shared identifier). Accepting merges the pair; rejecting keeps the row, so the pair
    is never proposed or merged automatically again. The pair is stored in id order, once.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=64)
    score = models.FloatField(null=True, blank=True)
    evidence = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=CandidateStatus.choices, default=CandidateStatus.PENDING)
    raw_event = models.ForeignKey(
        "channels_ingest.RawEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merge = models.ForeignKey(Merge, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=200, blank=True)
    # When review_queue_settle last scored the pair: each run takes the pairs it looked at longest ago.
    settle_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "other"], name="match_candidate_pair_unique"),
            models.CheckConstraint(condition=models.Q(customer__lt=models.F("other")), name="match_candidate_ordered"),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="match_candidate_queue")]
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.customer_id} ~ {self.other_id} ({self.status})"
