import uuid

from django.db import models

from channels_ingest.choices import FORMAT_CHANNELS, RawEventFormat, RawEventStatus


class RawEvent(models.Model):
    """One event exactly as a channel system sent it: the durable inbox.

    Stored by the accept service in the request's transaction, before any answer, and never altered in
    its payload. Workers claim it, write the normalized form, link it, and mark it processed (or failed
    with the error). (source, external_id) is the sender's identity for the event: a retry is the same row.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source = models.CharField(max_length=100)
    external_id = models.CharField(max_length=255)
    # No choices on the column: a new wire format is a normalizer module, not a migration.
    format = models.CharField(max_length=32, default=RawEventFormat.CANONICAL, help_text="Key in NORMALIZERS.")
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=RawEventStatus.choices, default=RawEventStatus.PENDING)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    normalized = models.JSONField(null=True, blank=True, help_text="Output of the normalizer, input of linking.")
    customer = models.ForeignKey(
        "customer_memory.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="raw_events"
    )
    interaction = models.ForeignKey(
        "interactions.Interaction", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="raw_event_source_external_unique")
        ]
        indexes = [
            # The sweeper's scan: only pending rows, oldest first, stays small however large the inbox grows.
            models.Index(fields=["updated_at"], name="raw_event_pending_sweep", condition=models.Q(status="pending")),
            models.Index(fields=["status", "-received_at"], name="raw_event_status_received"),
        ]
        ordering = ["-received_at"]

    def __str__(self):
        return f"{self.source}/{self.external_id}"

    @property
    def channel(self) -> str:
        """The channel the event came in on: its format's, or the one a canonical event names ("" if none)."""
        if self.format in FORMAT_CHANNELS:
            return FORMAT_CHANNELS[self.format]
        channel = self.payload.get("channel") if isinstance(self.payload, dict) else None
        return channel if isinstance(channel, str) else ""
