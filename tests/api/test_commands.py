"""manage.py create_api_client: issuing tokens."""

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from api.models import ApiClient, token_digest
from tests.personas import MILES_PHONE_E164

pytestmark = pytest.mark.django_db


def create_api_client(*args):
    out = io.StringIO()
    call_command("create_api_client", *args, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def bearer(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_the_printed_token_reads_cards():
    token = create_api_client("bot", "--scope", "card:read")

    response = bearer(token).get("/api/v1/card", {"phone": MILES_PHONE_E164})

    assert response.status_code == 200
    assert response.json()["known"] is False


def test_the_printed_token_has_only_the_scopes_given():
    token = create_api_client("bot", "--scope", "card:read")

    assert bearer(token).post("/api/v1/events", {}, format="json").status_code == 403


def test_several_scopes_can_be_given_at_once():
    create_api_client("desk", "--scope", "card:read", "timeline:read")

    assert ApiClient.objects.get(name="desk").scopes == ["card:read", "timeline:read"]


def test_an_unknown_scope_is_refused_by_name():
    with pytest.raises(CommandError, match="cards:write"):
        create_api_client("bot", "--scope", "card:read", "cards:write")

    assert not ApiClient.objects.exists()


def test_only_a_digest_of_the_token_is_stored():
    token = create_api_client("bot", "--scope", "card:read")

    stored = ApiClient.objects.get(name="bot")
    assert stored.token_digest != token
    assert stored.token_digest == token_digest(token)
    assert token.startswith(stored.token_prefix)
    assert len(stored.token_prefix) < len(token) // 2


def test_running_it_again_rotates_the_token():
    old = create_api_client("bot", "--scope", "card:read")
    new = create_api_client("bot", "--scope", "card:read")

    assert new != old
    assert bearer(old).get("/api/v1/card", {"phone": MILES_PHONE_E164}).status_code == 401
    assert bearer(new).get("/api/v1/card", {"phone": MILES_PHONE_E164}).status_code == 200
    assert ApiClient.objects.count() == 1


def test_the_all_scope_grants_every_endpoint():
    token = create_api_client("ops", "--scope", "all")
    client = bearer(token)

    assert client.get("/api/v1/card", {"phone": MILES_PHONE_E164}).status_code == 200
    assert client.get("/api/v1/events/lookup", {"source": "x", "external_id": "y"}).status_code == 404
    assert client.post("/api/v1/events", [], format="json").status_code == 400
