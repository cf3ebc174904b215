from django.db import models


class IdentifierKind(models.TextChoices):
    """Kinds of identifier a customer can be recognised by; each value is stored normalized."""

    PHONE = "phone", "Phone (E.164)"
    EMAIL = "email", "Email address"
    ACCOUNT = "account", "Account / CRM id"
    USER_ID = "user_id", "Web user id"
    HANDLE = "handle", "Chat handle"
    ANONYMOUS_ID = "anonymous_id", "Web anonymous id"


class MergeReason(models.TextChoices):
    SHARED_IDENTIFIER = "shared_identifier", "One event carried identifiers of both customers"
    PROBABILISTIC = "probabilistic", "Weak evidence scored above the auto-merge threshold"
    REVIEW = "review", "Accepted by an analyst from the review queue"
    ANALYST = "analyst", "Merged by an analyst"


class CandidateStatus(models.TextChoices):
    PENDING = "pending", "Waiting for review"
    ACCEPTED = "accepted", "Accepted (merged)"
    REJECTED = "rejected", "Rejected (never proposed again)"
