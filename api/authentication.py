import base64
import binascii
import hashlib
import hmac
import time
import urllib.parse

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from api.models import ApiClient, token_digest

# Token digest -> (active client, monotonic time it was read). Every API request starts with this lookup, and a
# SQL round trip per request is a large share of a warm card's cost; the price is that revoking a client
# (is_active off, or a new token) takes up to API_TOKEN_CACHE_SECONDS to reach other processes. Within this
# process a save or delete of any client empties it at once.
_clients: dict[str, tuple[ApiClient, float]] = {}
_CLIENTS_MAX = 10_000


def client_for_token(token: str) -> ApiClient:
    """The active API client holding `token`; AuthenticationFailed when there is none (unknown or revoked)."""
    digest = token_digest(token)
    now = time.monotonic()
    cached = _clients.get(digest)
    if cached is not None and now - cached[1] < settings.API_TOKEN_CACHE_SECONDS:
        return cached[0]
    try:
        client = ApiClient.objects.filter(token_digest=digest).first()
    except (OperationalError, InterfaceError):
        # PostgreSQL is unreachable: a client this process checked within API_TOKEN_OUTAGE_SECONDS keeps its
        # access (revocations live in the database, unreadable now too), so desks still get warm cards from
        # Redis; any other caller gets the 503 of the outage.
        if cached is not None and now - cached[1] < settings.API_TOKEN_OUTAGE_SECONDS:
            return cached[0]
        raise
    if client is None or not client.is_active:
        _clients.pop(digest, None)
        raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
    if len(_clients) >= _CLIENTS_MAX:  # many clients, or a scan of guessed tokens: start over, stay bounded
        _clients.clear()
    _clients[digest] = (client, now)
    return client


@receiver([post_save, post_delete], sender=ApiClient)
def _client_changed(sender, **kwargs):
    _clients.clear()


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>` of an API client."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header: expected 'Bearer <token>'."))
        try:
            token = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token characters.")) from None
        client = client_for_token(token)
        return client, client

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Describes BearerTokenAuthentication in the OpenAPI schema, so generated clients send the token."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The token `manage.py create_api_client` printed: `Authorization: Bearer <token>`.",
        }


class BasicTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Basic base64(<token>:)`: the token as the basic-auth user name, password ignored.

    For senders that cannot set a header of their own but can put credentials in the URL or a key field:
    Segment SDKs (the token is the write key), Twilio (`https://<token>:x@host/…`), inbound-email webhooks.
    """

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"basic":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header: expected 'Basic <credentials>'."))
        try:
            user_name = base64.b64decode(header[1], validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeError):
            raise exceptions.AuthenticationFailed(_("Invalid basic credentials: not base64 of 'token:'.")) from None
        if not user_name:
            raise exceptions.AuthenticationFailed(_("Invalid basic credentials: the token goes in the user name."))
        client = client_for_token(user_name)
        return client, client

    def authenticate_header(self, request):
        # Twilio sends the credentials of a callback URL only after a challenge naming Basic.
        return 'Basic realm="api"'


class SegmentWriteKeyAuthentication(authentication.BaseAuthentication):
    """The write key in the JSON body (`"writeKey": "<token>"`), as some Segment SDKs send it."""

    def authenticate(self, request):
        data = request.data
        write_key = data.get("writeKey") if isinstance(data, dict) else None
        if not write_key:
            return None
        if not isinstance(write_key, str):
            raise exceptions.AuthenticationFailed(_("writeKey must be a string."))
        client = client_for_token(write_key)
        return client, client


class BasicTokenScheme(OpenApiAuthenticationExtension):
    target_class = BasicTokenAuthentication
    name = "basicTokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "An `ingest` client's token as the user name, no password (Segment: the write key).",
        }


class SegmentWriteKeyScheme(OpenApiAuthenticationExtension):
    target_class = SegmentWriteKeyAuthentication
    name = "segmentWriteKey"

    def get_security_definition(self, auto_schema):
        # OpenAPI has no key in the body: shown as a query key, described as what it is.
        return {
            "type": "apiKey",
            "in": "query",
            "name": "writeKey",
            "description": "Segment SDKs' alternative to basic auth: `writeKey` in the JSON body, not the query.",
        }


class FirehoseAccessKeyAuthentication(authentication.BaseAuthentication):
    """`X-Amz-Firehose-Access-Key: <token>`: how a Kinesis Data Firehose HTTP endpoint delivery
    authenticates (Amazon Connect streams its contact trace records through Firehose)."""

    def authenticate(self, request):
        key = request.META.get("HTTP_X_AMZ_FIREHOSE_ACCESS_KEY")
        if not key:
            return None
        client = client_for_token(key)
        return client, client


class FirehoseAccessKeyScheme(OpenApiAuthenticationExtension):
    target_class = FirehoseAccessKeyAuthentication
    name = "firehoseAccessKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-Amz-Firehose-Access-Key"}


def twilio_signature_valid(*, auth_token: str, url: str, params: dict[str, list[str]], signature: str) -> bool:
    """Twilio's X-Twilio-Signature: base64 HMAC-SHA1, keyed by the account's auth token, of the full URL
    followed by each POST parameter's name and value, sorted by name. Twilio drops or adds the default port
    depending on the request, so both forms of the URL are tried, as its own validator does."""
    if not signature:
        return False
    signed = "".join(name + value for name in sorted(params) for value in params[name])
    for candidate in _url_variants(url):
        digest = hmac.new(auth_token.encode(), (candidate + signed).encode(), hashlib.sha1).digest()
        # Bytes: compare_digest refuses str with non-ASCII characters, which a forged header may carry.
        if hmac.compare_digest(base64.b64encode(digest), signature.encode("utf-8", "replace")):
            return True
    return False


def _url_variants(url: str) -> list[str]:
    parts = urllib.parse.urlsplit(url)
    default_port = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    with_port = parts._replace(netloc=f"{host}:{parts.port or default_port}").geturl()
    without_port = parts._replace(netloc=host).geturl() if parts.port in (None, default_port) else url
    return list(dict.fromkeys([url, with_port, without_port]))


# Channel webhooks: basic auth first, so that a 401 challenges for it (Twilio only then sends credentials).
CHANNEL_AUTHENTICATION = [BasicTokenAuthentication, BearerTokenAuthentication]
