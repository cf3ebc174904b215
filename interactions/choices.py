from django.db import models


class Channel(models.TextChoices):
    CHAT = "chat", "Chat"
    EMAIL = "email", "Email"
    VOICE = "voice", "Voice"
    WEB = "web", "Web"


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"
    INTERNAL = "internal", "Internal"


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"

    @classmethod
    def active(cls):
        """Statuses of a case that still needs something from us."""
        return [cls.OPEN, cls.PENDING]


class PromiseKind(models.TextChoices):
    CALLBACK = "callback", "Callback"
    FOLLOW_UP = "follow_up", "Follow-up"


class PromiseStatus(models.TextChoices):
    OPEN = "open", "Open"
    OVERDUE = "overdue", "Overdue"
    KEPT = "kept", "Kept"
    CANCELLED = "cancelled", "Cancelled"

    @classmethod
    def outstanding(cls):
        """Statuses of a promise still owed to the customer."""
        return [cls.OPEN, cls.OVERDUE]
