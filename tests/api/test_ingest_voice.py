import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qsl, urlencode

import pytest

from channels_ingest.models import RawEvent
from interactions.models import Interaction
from tests.channels import fixture_bytes, fixture_json

pytestmark = pytest.mark.django_db
TWILIO = "/api/v1/ingest/voice/twilio"
CONNECT = "/api/v1/ingest/voice/connect"
FORM = "application/x-www-form-urlencoded"


def _form(name: str) -> str:
    return fixture_bytes(f"twilio/{name}.form").decode().strip()


def _signature(token: str, url: str, body: str) -> str:
    params = sorted(parse_qsl(body))
    data = url + "".join(name + value for name, value in params)
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def test_a_calls_callbacks_out_of_order_and_twice_leave_one_interaction_with_the_final_state(channel):
    for name in ("inbound_completed", "inbound_ringing", "inbound_completed", "inbound_in_progress"):
        response = channel.post(TWILIO, _form(name), content_type=FORM)
        assert response.status_code == 202, response.content

    assert RawEvent.objects.count() == 3  # the repeated final callback is a duplicate
    call = Interaction.objects.get()
    assert call.attributes["call_status"] == "completed" and call.summary == "Inbound call, 4 min 12 s"
    assert call.revision == 2
    assert call.occurred_at.isoformat() == "2026-11-21T09:45:00+00:00"  # the earliest callback's time


def test_a_withheld_caller_is_kept_as_a_failed_event_with_the_reason(channel):
    response = channel.post(TWILIO, _form("withheld_caller"), content_type=FORM)
    assert response.status_code == 202
    event = RawEvent.objects.get()
    assert event.status == "failed" and "withheld their number" in event.error


def test_with_an_auth_token_a_correctly_signed_callback_is_accepted(channel):
    channel.api_client.twilio_auth_token = "12345678901234567890123456789012"
    channel.api_client.save()
    body = _form("inbound_completed")
    signature = _signature("12345678901234567890123456789012", f"http://testserver{TWILIO}", body)

    response = channel.post(TWILIO, body, content_type=FORM, HTTP_X_TWILIO_SIGNATURE=signature)

    assert response.status_code == 202
    assert Interaction.objects.count() == 1


@pytest.mark.parametrize("signature", [None, "bm90IHRoZSBzaWduYXR1cmU="])
def test_with_an_auth_token_a_missing_or_bad_signature_is_a_403_and_stores_nothing(channel, signature):
    channel.api_client.twilio_auth_token = "12345678901234567890123456789012"
    channel.api_client.save()
    headers = {"HTTP_X_TWILIO_SIGNATURE": signature} if signature else {}

    response = channel.post(TWILIO, _form("inbound_completed"), content_type=FORM, **headers)

    assert response.status_code == 403
    assert "X-Twilio-Signature" in response.json()["detail"]
    assert RawEvent.objects.count() == 0


def test_a_signature_over_other_parameters_is_refused(channel):
    channel.api_client.twilio_auth_token = "secret-token"
    channel.api_client.save()
    signed = _form("inbound_completed")
    tampered = urlencode({**dict(parse_qsl(signed)), "From": "+14155550111"})

    response = channel.post(
        TWILIO,
        tampered,
        content_type=FORM,
        HTTP_X_TWILIO_SIGNATURE=_signature("secret-token", f"http://testserver{TWILIO}", signed),
    )

    assert response.status_code == 403


def test_behind_a_proxy_the_configured_public_url_is_the_one_checked(channel, settings):
    settings.TWILIO_WEBHOOK_BASE_URL = "https://memory.example.com"
    channel.api_client.twilio_auth_token = "secret-token"
    channel.api_client.save()
    body = _form("inbound_ringing")
    signature = _signature("secret-token", f"https://memory.example.com{TWILIO}", body)

    assert channel.post(TWILIO, body, content_type=FORM, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 202


def test_a_callback_without_a_call_sid_is_a_400_naming_it(channel):
    response = channel.post(TWILIO, "CallStatus=ringing&From=%2B14155550100", content_type=FORM)
    assert response.status_code == 400 and response.json()["detail"] == "CallSid: required"
    assert RawEvent.objects.count() == 0


def test_twilio_is_challenged_for_basic_credentials(anonymous):
    response = anonymous.post(TWILIO, _form("inbound_ringing"), content_type=FORM)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Basic")


def test_a_connect_record_and_its_later_update_are_one_interaction_with_the_agent_and_transcript(channel):
    record = fixture_json("connect/ctr_answered.json")
    earlier = {**record, "LastUpdateTimestamp": "2026-11-21T10:12:01Z", "Agent": None, "Transcript": None}

    assert channel.post(CONNECT, record, format="json").status_code == 202
    assert channel.post(CONNECT, earlier, format="json").status_code == 202

    assert RawEvent.objects.filter(status="processed").count() == 2
    call = Interaction.objects.get()
    assert call.agent.name == "dave.okafor"
    assert call.summary == "Call with an agent, 12 min 0 s — Card payment failed"
    assert call.attributes["outcome"] == "answered" and call.attributes["queue"] == "CardSupport"
    assert [m["author"] for m in call.messages] == ["agent", "customer"]
    assert {(i.kind, i.value) for i in call.customer.identifiers.all()} == {
        ("phone", "+14155550100"),
        ("account", "A-1001"),
    }


def test_a_connect_contact_abandoned_in_the_queue_is_recorded_as_abandoned(channel):
    channel.post(CONNECT, fixture_json("connect/ctr_abandoned_in_queue.json"), format="json")
    call = Interaction.objects.get()
    assert call.attributes["outcome"] == "abandoned" and call.agent is None
    assert call.summary == "Abandoned call: the customer left in queue CardSupport before an agent answered"


def test_connect_records_through_a_firehose_delivery_are_answered_as_firehose_expects(anonymous, channel):
    records = [fixture_json("connect/ctr_answered.json"), fixture_json("connect/ctr_abandoned_in_queue.json")]
    body = {
        "requestId": "ed4acda5-034f-9f42-bba1-f29aea6d7d8f",
        "timestamp": 1795000000000,
        "records": [{"data": base64.b64encode(json.dumps(r).encode()).decode()} for r in records],
    }
    response = channel.post(CONNECT, body, format="json")
    assert response.status_code == 200
    assert response.json() == {"requestId": "ed4acda5-034f-9f42-bba1-f29aea6d7d8f", "timestamp": 1795000000000}
    assert Interaction.objects.count() == 2


def test_firehose_may_authenticate_with_its_access_key_header(anonymous, channel):
    body = {"requestId": "r1", "timestamp": 1, "records": [{"data": "bm90IGpzb24="}]}
    response = anonymous.post(CONNECT, body, format="json", HTTP_X_AMZ_FIREHOSE_ACCESS_KEY=channel.token)
    assert response.status_code == 400
    assert response.json()["detail"] == "records[0].data: not base64 of a JSON record"


def test_a_connect_record_without_contact_id_is_a_400(channel):
    response = channel.post(CONNECT, {"Channel": "VOICE"}, format="json")
    assert response.status_code == 400 and response.json()["detail"] == "ContactId: required"
    assert RawEvent.objects.count() == 0


def test_a_signature_header_with_non_ascii_characters_is_a_403_not_a_crash(channel):
    channel.api_client.twilio_auth_token = "secret-token"
    channel.api_client.save()
    response = channel.post(TWILIO, _form("inbound_ringing"), content_type=FORM, HTTP_X_TWILIO_SIGNATURE="sïgnature")
    assert response.status_code == 403
