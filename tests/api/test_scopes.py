"""Every endpoint against every scope: no token is 401, every scope but the endpoint's is 403, its own opens it.

The table names each route of api/urls.py once; a new route without a row fails the completeness test, so
no endpoint can ship without its scope being checked here.
"""

import uuid

import pytest
from rest_framework.test import APIClient

from api import urls
from api.scopes import INGEST_CHANNEL_SCOPES, Scope
from api.services import api_client_create

pytestmark = pytest.mark.django_db
SOME_ID = str(uuid.uuid4())

# (route name, method, path, scopes any one of which opens it). `ingest` opens every channel's scope.
ENDPOINTS = [
    ("events", "post", "/api/v1/events", {"ingest", *INGEST_CHANNEL_SCOPES}),
    ("event-lookup", "get", "/api/v1/events/lookup?source=s&external_id=e", {"ingest", *INGEST_CHANNEL_SCOPES}),
    ("event-status", "get", f"/api/v1/events/{SOME_ID}", {"ingest", *INGEST_CHANNEL_SCOPES}),
    ("card", "get", "/api/v1/card?phone=%2B14155550100", {"card:read"}),
    ("customer-card", "get", f"/api/v1/customers/{SOME_ID}/card", {"card:read"}),
    ("customer-timeline", "get", f"/api/v1/customers/{SOME_ID}/timeline", {"timeline:read"}),
    ("suggested-agents", "get", f"/api/v1/customers/{SOME_ID}/suggested-agents", {"card:read"}),
    ("agents", "get", "/api/v1/agents", {"card:read"}),
    ("agents", "post", "/api/v1/agents", {"agents:write"}),
    ("agent", "get", f"/api/v1/agents/{SOME_ID}", {"card:read"}),
    ("agent", "patch", f"/api/v1/agents/{SOME_ID}", {"agents:write"}),
    ("agent-introduction", "get", f"/api/v1/agents/{SOME_ID}/introduction?customer={SOME_ID}", {"card:read"}),
    ("handovers", "post", "/api/v1/handovers", {"agents:write"}),
    ("handover", "get", f"/api/v1/handovers/{SOME_ID}", {"card:read"}),
    ("promises", "get", "/api/v1/promises", {"card:read"}),
    ("promises", "post", "/api/v1/promises", {"agents:write"}),
    ("promise", "get", f"/api/v1/promises/{SOME_ID}", {"card:read"}),
    ("promise", "patch", f"/api/v1/promises/{SOME_ID}", {"agents:write"}),
    ("ingest-segment", "post", "/api/v1/ingest/segment/v1/track", {"ingest", "ingest:web"}),
    ("ingest-twilio", "post", "/api/v1/ingest/voice/twilio", {"ingest", "ingest:voice"}),
    ("ingest-connect", "post", "/api/v1/ingest/voice/connect", {"ingest", "ingest:voice"}),
    ("ingest-email", "post", "/api/v1/ingest/email", {"ingest", "ingest:email"}),
    ("ingest-email-inbound", "post", "/api/v1/ingest/email/inbound", {"ingest", "ingest:email"}),
    ("ingest-chat", "post", "/api/v1/ingest/chat", {"ingest", "ingest:chat"}),
    ("customer-export", "get", f"/api/v1/customers/{SOME_ID}/export", {"privacy:admin"}),
    ("customer-erase", "delete", f"/api/v1/customers/{SOME_ID}", {"privacy:admin"}),
    ("customer-identity", "get", f"/api/v1/customers/{SOME_ID}/identity", {"identity:admin"}),
    ("merge-undo", "post", f"/api/v1/merges/{SOME_ID}/undo", {"identity:admin"}),
]
ALL_BUT_ALL = [scope for scope in Scope.values if scope != Scope.ALL]


def _call(client, method, path):
    return getattr(client, method)(path, {}, format="json") if method != "get" else client.get(path)


def _client(name, scopes):
    _, token = api_client_create(name=name, scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_every_route_has_a_row():
    assert {pattern.name for pattern in urls.urlpatterns} == {name for name, *_ in ENDPOINTS}


@pytest.mark.parametrize(("name", "method", "path", "scopes"), ENDPOINTS, ids=lambda v: v if isinstance(v, str) else "")
def test_without_a_token_the_endpoint_answers_401(name, method, path, scopes):
    assert _call(APIClient(), method, path).status_code == 401


@pytest.mark.parametrize(("name", "method", "path", "scopes"), ENDPOINTS, ids=lambda v: v if isinstance(v, str) else "")
def test_every_other_scope_together_is_refused_with_403(name, method, path, scopes):
    # A channel endpoint's row lists `ingest` too, which implies the channel scopes: both are left out.
    others = [scope for scope in ALL_BUT_ALL if scope not in scopes]
    response = _call(_client("others", others), method, path)

    assert response.status_code == 403, response.content
    assert "lacks" in response.json()["detail"]


@pytest.mark.parametrize(("name", "method", "path", "scopes"), ENDPOINTS, ids=lambda v: v if isinstance(v, str) else "")
def test_each_opening_scope_alone_gets_past_the_scope_check(name, method, path, scopes):
    for index, scope in enumerate(sorted(scopes)):
        response = _call(_client(f"only-{index}", [scope]), method, path)

        # Past the check the empty request is answered on its merits (200, 400, 404, …).
        assert response.status_code not in (401, 403), (scope, response.status_code, response.content)
