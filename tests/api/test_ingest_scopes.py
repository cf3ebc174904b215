"""Per-channel ingest scopes: a channel system's token opens its own channel and no other."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from api.models import ApiClient
from api.services import api_client_create
from channels_ingest.models import RawEvent
from tests.channels import basic_auth, fixture_bytes, fixture_json
from tests.personas import ada_email, miles_call, miles_chat

pytestmark = pytest.mark.django_db
TWILIO = "/api/v1/ingest/voice/twilio"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def pbx():
    """The phone system: may send voice events only (scope ingest:voice). Channel endpoints get its token
    as basic auth, as Twilio sends it; `pbx.bearer` is the same client calling the canonical endpoints."""
    _, token = api_client_create(name="pbx", scopes=["ingest:voice"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic_auth(token))
    client.bearer = APIClient()
    client.bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _twilio_form():
    return fixture_bytes("twilio/inbound_completed.form").decode().strip()


def test_a_voice_only_client_may_post_twilio_callbacks(pbx):
    response = pbx.post(TWILIO, _twilio_form(), content_type=FORM)

    assert response.status_code == 202, response.content
    assert RawEvent.objects.get().format == "twilio"


def test_a_voice_only_client_is_refused_the_other_channels_endpoints_and_nothing_is_stored(pbx):
    answers = {
        "email": pbx.post(
            "/api/v1/ingest/email", fixture_bytes("email/customer_first.eml"), content_type="message/rfc822"
        ),
        "chat": pbx.post("/api/v1/ingest/chat", fixture_json("chat/messages.json"), format="json"),
        "web": pbx.post(
            "/api/v1/ingest/segment/v1/track",
            {"type": "track", "userId": "u-1", "event": "Order Completed", "messageId": "m-1"},
            format="json",
        ),
    }

    for channel, response in answers.items():
        assert response.status_code == 403, channel
        assert f"ingest:{channel}" in response.json()["detail"], channel
    assert not RawEvent.objects.exists()


def test_a_voice_only_client_may_send_canonical_voice_events(pbx):
    response = pbx.bearer.post("/api/v1/events", [miles_call(), miles_call(external_id="call-2")], format="json")

    assert response.status_code == 202, response.content
    assert RawEvent.objects.count() == 2


def test_a_canonical_event_of_another_channel_refuses_the_whole_list_naming_it(pbx):
    response = pbx.bearer.post("/api/v1/events", [miles_call(), ada_email()], format="json")

    assert response.status_code == 403
    assert response.json()["detail"] == (
        "event 1: this API client may send only voice events, not email (scope ingest:email)"
    )
    assert not RawEvent.objects.exists()


def test_a_channel_client_follows_its_own_channels_events_and_not_others(pbx, helpdesk):
    voice = pbx.bearer.post("/api/v1/events", miles_call(), format="json").json()[0]["id"]
    chat = helpdesk.post("/api/v1/events", miles_chat(), format="json").json()[0]["id"]

    assert pbx.bearer.get(f"/api/v1/events/{voice}").status_code == 200
    assert pbx.bearer.get(f"/api/v1/events/{chat}").status_code == 404
    assert pbx.bearer.get("/api/v1/events/lookup", {"source": "helpdesk", "external_id": "chat-1"}).status_code == 404
    # The all-channel client still sees both.
    assert helpdesk.get(f"/api/v1/events/{voice}").status_code == 200


def test_the_ingest_scope_still_opens_every_channel(helpdesk):
    client = ApiClient.objects.get(scopes=["ingest"])

    assert {client.has_scope(f"ingest:{c}") for c in ("web", "voice", "email", "chat")} == {True}
    assert client.ingest_channels == {"web", "voice", "email", "chat"}
    assert not client.has_scope("card:read")


def test_a_channel_scope_does_not_open_reads(pbx):
    assert pbx.bearer.get("/api/v1/card", {"phone": "+14155550100"}).status_code == 403


def test_channel_endpoints_count_against_the_ingest_budget_not_the_read_one(settings, pbx):
    settings.API_THROTTLE_RATE = "1/min"
    settings.API_THROTTLE_RATE_INGEST = "100/min"

    answers = [pbx.post(TWILIO, _twilio_form(), content_type=FORM).status_code for _ in range(3)]

    assert answers == [202, 202, 202]


def test_create_api_client_takes_a_channel_scope(capsys):
    call_command("create_api_client", "twilio", "--scope", "ingest:voice")

    assert ApiClient.objects.get(name="twilio").scopes == ["ingest:voice"]
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("cm_")
