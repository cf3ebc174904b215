import uuid

from django.db import models

from customer_memory.choices import IdentifierKind, MergeReason


class CustomerQuerySet(models.QuerySet):
    def live(self):
        """Customers that have not been merged into another one."""
        return self.filter(merged_into__isnull=True)

    def by_identifier(self, kind: str, value: str):
        """The customer holding the identifier (kind, normalized value), or None.

        Identifiers always move to the survivor of a merge, so the holder is never a merged-away customer.
        """
        return self.filter(identifiers__kind=kind, identifiers__value=value).first()


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
    The unique (kind, value) constraint is what makes two workers seeing a new identifier at once end with
    one owner.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identifiers")
    kind = models.CharField(max_length=20, choices=IdentifierKind.choices)
    value = models.CharField(max_length=255)
    verified = models.BooleanField(default=False)
    source = models.CharField(max_length=100, help_text="The system that first reported this identifier.")
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="identifier_kind_value_unique")]
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
    """The record of one customer merged into another: what moved, why, and on what evidence.

    Written by the merge service. `moved` lists the ids of the rows that changed owner so an undo can
    give them back.
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
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)

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
