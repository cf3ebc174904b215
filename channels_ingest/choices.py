from django.db import models


class RawEventStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSED = "processed", "Processed"
    # The payload could not be normalized; fix the cause, then reprocess.
    FAILED = "failed", "Failed"
    # Processing kept failing for other reasons; parked after RAW_EVENT_MAX_ATTEMPTS, retryable.
    DEAD = "dead", "Dead"


class RawEventFormat(models.TextChoices):
    """Wire formats the inbox accepts; each has a normalizer in channels_ingest.normalizers."""

    CANONICAL = "canonical", "Canonical event"
    SEGMENT = "segment", "Segment tracking spec message"
    TWILIO = "twilio", "Twilio voice status callback"
    CONNECT = "connect", "Amazon Connect contact trace record"
    EMAIL = "email", "Raw RFC 5322 / MIME email"
    EMAIL_INBOUND = "email_inbound", "Inbound-parse webhook email"
    CHAT = "chat", "Chat transcript or message"


# The channel of each channel format; a canonical event names its own.
FORMAT_CHANNELS = {
    RawEventFormat.SEGMENT: "web",
    RawEventFormat.TWILIO: "voice",
    RawEventFormat.CONNECT: "voice",
    RawEventFormat.EMAIL: "email",
    RawEventFormat.EMAIL_INBOUND: "email",
    RawEventFormat.CHAT: "chat",
}
