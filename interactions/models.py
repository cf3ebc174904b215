import uuid

from django.db import models

from interactions.choices import CaseStatus, Channel, Direction, PromiseKind, PromiseStatus


class Agent(models.Model):
    """A person (or bot) on the company's side of a conversation.

    Created by the timeline service the first time an event names them with (source, external_id), or
    through the agents API, which also fills the profile a warm introduction is made from.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source = models.CharField(max_length=100)
    external_id = models.CharField(max_length=255)
    name = models.CharField(max_length=200, blank=True)
    # The profile: what a customer is told about the person who will help them.
    photo_url = models.URLField(max_length=500, blank=True)
    started_at = models.DateField(null=True, blank=True, help_text="Joined the company (tenure).")
    expertise = models.JSONField(default=list, blank=True, help_text='Topics, e.g. ["card payments", "billing"].')
    languages = models.JSONField(default=list, blank=True, help_text='Language codes, e.g. ["en", "es"].')
    personal_line = models.CharField(max_length=300, blank=True, help_text="A short personal line (a hobby).")
    is_active = models.BooleanField(default=True, help_text="Still takes customers (suggested to them).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="agent_source_external_unique")]
        ordering = ["name"]

    def __str__(self):
        return self.name or self.external_id


class CaseQuerySet(models.QuerySet):
    def active(self):
        """Cases still open or waiting on someone."""
        return self.filter(status__in=CaseStatus.active())


class Case(models.Model):
    """An issue the customer raised, as the source ticketing system names it, across its interactions.

    Created or updated by the timeline service from events that carry `case`; its status follows the
    latest event. Moves to the survivor when its customer is merged.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey("customer_memory.Customer", on_delete=models.CASCADE, related_name="cases")
    source = models.CharField(max_length=100)
    external_id = models.CharField(max_length=255)
    title = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    channel = models.CharField(max_length=16, choices=Channel.choices, help_text="Channel the case was opened on.")
    opened_at = models.DateTimeField()
    last_activity_at = models.DateTimeField()
    # Time of the event that last set the status, so that late, out-of-order events do not reopen a case.
    status_at = models.DateTimeField()

    objects = CaseQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="case_source_external_unique")]
        indexes = [models.Index(fields=["customer", "-last_activity_at"], name="case_customer_activity")]
        ordering = ["-last_activity_at"]

    def __str__(self):
        return self.title or self.external_id


class InteractionQuerySet(models.QuerySet):
    def contacts(self):
        """Interactions that were a contact with the customer: not internal notes, not automated messages
        (auto-replies, bounces, delivery reports)."""
        return self.exclude(direction=Direction.INTERNAL).filter(automated=False)


class Interaction(models.Model):
    """One contact between the customer and the company on one channel: a chat, a call, an email, a page view.

    Written by the timeline service when a raw event is linked; (source, external_id) is the interaction's
    identity (a call's sid, a conversation's id, an email's Message-ID), so linking the same event twice, or
    several deliveries about one call or conversation, updates one row instead of adding more. The content
    comes from the delivery of the highest `revision`; `messages` accumulate from all of them.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey("customer_memory.Customer", on_delete=models.CASCADE, related_name="interactions")
    source = models.CharField(max_length=100)
    external_id = models.CharField(max_length=255)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    type = models.CharField(max_length=64, blank=True)
    direction = models.CharField(max_length=16, choices=Direction.choices, default=Direction.INBOUND)
    occurred_at = models.DateTimeField()
    summary = models.TextField(blank=True)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions")
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions")
    attributes = models.JSONField(default=dict, blank=True)
    # Conversation turns merged from every delivery, ordered by time: [{"id", "at", "author", "name", "text"}].
    messages = models.JSONField(default=list, blank=True)
    revision = models.BigIntegerField(default=0, help_text="Revision of the delivery whose content is shown.")
    automated = models.BooleanField(
        default=False, help_text="An auto-reply, bounce or delivery report: shown, but not a contact by the customer."
    )
    raw_event = models.ForeignKey(
        "channels_ingest.RawEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InteractionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="interaction_source_external_unique")
        ]
        # The card's "latest across channels" and the timeline's newest-first pages both walk this index.
        indexes = [models.Index(fields=["customer", "-occurred_at"], name="interaction_customer_latest")]
        ordering = ["-occurred_at", "-id"]

    def __str__(self):
        return f"{self.channel} {self.occurred_at:%Y-%m-%d %H:%M}"

    @property
    def is_contact(self) -> bool:
        """A contact with the customer (see InteractionQuerySet.contacts), for rows already in memory."""
        return self.direction != Direction.INTERNAL and not self.automated


class Handover(models.Model):
    """One agent passing a case to another, with the note the next agent reads on the card.

    Written by the handover service (API or desk); never edited. It hangs on the case, so it follows the
    case to the survivor when customers merge.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="handovers")
    from_agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="handovers_given")
    to_agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="handovers_taken")
    note = models.TextField()
    # The introduction the handing-over agent read out, kept as it was said.
    script = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["case", "-created_at"], name="handover_case_latest")]
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.from_agent} → {self.to_agent} on {self.case}"


class PromiseQuerySet(models.QuerySet):
    def outstanding(self):
        """Promises still owed to the customer (open, or already marked overdue)."""
        return self.filter(status__in=PromiseStatus.outstanding())


class Promise(models.Model):
    """A callback or follow-up owed to a customer, by an owner agent, by a due time.

    Created through the promises API or the desk. Kept automatically when a matching outbound contact is
    recorded (interactions.services.promises_keep); marked overdue by a periodic task once due_at passes;
    cancelled or kept by hand through PATCH.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey("customer_memory.Customer", on_delete=models.CASCADE, related_name="promises")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="promises")
    owner = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="promises")
    kind = models.CharField(max_length=16, choices=PromiseKind.choices, default=PromiseKind.CALLBACK)
    channel = models.CharField(
        max_length=16, choices=Channel.choices, blank=True, help_text="Channel promised; blank: any channel."
    )
    due_at = models.DateTimeField()
    note = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=PromiseStatus.choices, default=PromiseStatus.OPEN)
    kept_at = models.DateTimeField(null=True, blank=True)
    kept_by = models.ForeignKey(
        Interaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="promises_kept"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PromiseQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["customer", "status", "due_at"], name="promise_customer_status_due"),
            # The overdue sweep walks open promises by due time.
            models.Index(fields=["status", "due_at"], name="promise_status_due"),
        ]
        ordering = ["due_at"]

    def __str__(self):
        return f"{self.get_kind_display()} due {self.due_at:%Y-%m-%d %H:%M} ({self.status})"

    def is_overdue(self, now) -> bool:
        return self.status in PromiseStatus.outstanding() and self.due_at < now
