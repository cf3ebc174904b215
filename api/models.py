import hashlib
import secrets

from django.conf import settings
from django.db import models

from api.choices import AccessAction
from api.scopes import INGEST_CHANNEL_SCOPES, Scope


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiClient(models.Model):
    """A system allowed to call the API (an agent desktop, a chatbot, a channel webhook), with its scopes.

    Created by `manage.py create_api_client`; only the SHA-256 of its token is stored, so a leaked database
    does not leak tokens. Deactivate to revoke. Channel webhooks store what their sender needs: the source
    name their events are filed under, and the Twilio auth token their signatures are checked with.
    """

    name = models.CharField(max_length=100, unique=True)
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(max_length=8, editable=False, help_text="First characters, to recognise a token.")
    scopes = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    source = models.CharField(
        max_length=100,
        blank=True,
        help_text="Source name of the events it sends to channel endpoints; default: its name.",
    )
    # Twilio signs with the account's auth token itself, so it is kept as is (a digest cannot verify an HMAC).
    twilio_auth_token = models.CharField(
        max_length=128, blank=True, help_text="When set, Twilio callbacks must carry a valid X-Twilio-Signature."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    # DRF treats the authenticated client as request.user.
    is_authenticated = True
    is_anonymous = False

    @property
    def ingest_source(self) -> str:
        """The source name the events it sends through channel endpoints are filed under."""
        return self.source or self.name

    def has_scope(self, scope: str) -> bool:
        if Scope.ALL in self.scopes or scope in self.scopes:
            return True
        # `ingest` (the contract's scope) admits every channel's endpoints.
        return scope in INGEST_CHANNEL_SCOPES and Scope.INGEST in self.scopes

    @property
    def ingest_channels(self) -> set[str]:
        """The channels whose events this client may send and follow (every channel with `ingest` or `all`)."""
        return {channel for scope, channel in INGEST_CHANNEL_SCOPES.items() if self.has_scope(scope)}

    def issue_token(self) -> str:
        """Set a new random token and return it; the caller shows it once and saves the client."""
        token = "cm_" + secrets.token_urlsafe(32)
        self.token_digest = token_digest(token)
        self.token_prefix = token[:8]
        return token


class AccessLog(models.Model):
    """One read of one customer's data: who (an API client or a staff user), what, when, from where.

    Appended by `api.access_log.record` from the views that show a customer (one INSERT per request); read
    in the admin; never edited. Holds the customer's id, not a foreign key, so that the row of an erasure
    outlives the customer it records, and logging never waits on a customer's row lock. Entries about a
    customer are deleted when that customer is erased, except the erasure's own.
    """

    at = models.DateTimeField(auto_now_add=True)
    customer_id = models.UUIDField()
    action = models.CharField(max_length=16, choices=AccessAction.choices)
    client = models.ForeignKey(ApiClient, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["customer_id", "-at"], name="access_log_customer_at")]
        ordering = ["-at"]

    def __str__(self):
        return f"{self.get_action_display()} {self.customer_id} by {self.client or self.user}"
