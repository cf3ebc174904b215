import pytest
from rest_framework.test import APIClient

from api.services import api_client_create
from channels_ingest.services import canonical_events_accept


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: cached cards must not outlive the test database they came from."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def _client_with(scopes):
    _, token = api_client_create(name="-".join(scopes), scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def desk(db):
    """The agent desktop: reads cards and timelines."""
    return _client_with(["card:read", "timeline:read"])


@pytest.fixture
def team_desk(db):
    """An agent desktop that also writes: agents, handovers and promises."""
    return _client_with(["card:read", "timeline:read", "agents:write"])


@pytest.fixture
def helpdesk(db):
    """A channel system: may only send events."""
    return _client_with(["ingest"])


@pytest.fixture
def anonymous():
    """A caller with no token at all."""
    return APIClient()


@pytest.fixture
def ingest(db, django_capture_on_commit_callbacks):
    """Run events through the real ingest path (accept, then the normalize and link tasks, eagerly)."""

    def ingest(*payloads):
        with django_capture_on_commit_callbacks(execute=True):
            return canonical_events_accept(payloads=list(payloads))

    return ingest


@pytest.fixture
def revoked_helpdesk(db):
    """A channel system whose API client an admin deactivated; its token must stop working."""
    client_row, token = api_client_create(name="revoked-helpdesk", scopes=["ingest"])
    client_row.is_active = False
    client_row.save(update_fields=["is_active"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def stranger(db):
    """A caller presenting a well-formed Bearer token that no client was ever issued."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer cm_this-token-was-never-issued")
    return client


@pytest.fixture
def failed_event(db):
    """olivia's call as a legacy PBX sent it, stored and failed: under phone region US her number is no number."""
    from channels_ingest.models import RawEvent
    from channels_ingest.services import raw_event_normalize
    from tests.personas import olivia_legacy_call

    payload = olivia_legacy_call()
    event = RawEvent.objects.create(
        source=payload["source"], external_id=payload["external_id"], format="canonical", payload=payload
    )
    raw_event_normalize(raw_event_id=event.id)
    event.refresh_from_db()
    assert event.status == "failed", event.error
    return event


@pytest.fixture
def channel(db, django_capture_on_commit_callbacks):
    """A channel system posting to the channel endpoints with its token as basic auth (as Segment SDKs,
    Twilio and inbound-mail webhooks do), with the normalize and link tasks run eagerly after each request.
    Its API client is `channel.api_client` (name "website": the source its events are filed under)."""
    from tests.channels import basic_auth

    api_client, token = api_client_create(name="website", scopes=["ingest"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic_auth(token))
    client.api_client, client.token = api_client, token

    def post(path, data=None, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return APIClient.post(client, path, data, **kwargs)

    client.post = post
    return client
