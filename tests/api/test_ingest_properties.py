"""Property-based, through HTTP: whatever is posted to a channel endpoint is answered below 500, and either
refused with a 4xx storing nothing, or stored (and then processed or failed with a reason, never crashed)."""

import json
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels_ingest.models import RawEvent
from tests.channels import fixture_bytes, fixture_json
from tests.channels_ingest.test_properties import json_values, mutated

pytestmark = pytest.mark.django_db
THROUGH_HTTP = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _posted(channel, path, body, **kwargs):
    before = RawEvent.objects.count()
    response = channel.post(path, body, **kwargs)
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert RawEvent.objects.count() == before, "a refused request stored something"
        assert response.json()["detail"]
    else:
        ids = [item["id"] for item in response.json()] if isinstance(response.json(), list) else []
        assert RawEvent.objects.filter(id__in=ids).count() == len(set(ids)), "an accepted event vanished"
    # Stored events were processed, or failed for a reason in the payload: never a crash of ours.
    crashed = RawEvent.objects.filter(error__startswith="normalizer crashed") | RawEvent.objects.filter(
        error__startswith="linking failed"
    )
    assert not crashed.exists(), list(crashed.values_list("error", flat=True))
    return response


SEGMENT = fixture_json("segment/batch_analytics_js.json")


@THROUGH_HTTP
@given(data=st.data())
def test_segment_batches_with_mutated_messages(channel, data):
    batch = [data.draw(mutated(message)) for message in SEGMENT["batch"][: data.draw(st.integers(1, 4))]]
    response = _posted(channel, "/api/v1/ingest/segment/v1/batch", {"batch": batch}, format="json")
    if response.status_code == 200:
        assert response.json() == {"success": True}


@THROUGH_HTTP
@given(body=json_values)
def test_any_json_to_the_segment_chat_and_connect_endpoints(channel, body):
    for path in ("/api/v1/ingest/segment/v1/track", "/api/v1/ingest/chat", "/api/v1/ingest/voice/connect"):
        _posted(channel, path, json.dumps(body), content_type="application/json")


TWILIO = dict(parse_qsl(fixture_bytes("twilio/inbound_completed.form").decode().strip()))


@THROUGH_HTTP
@given(data=st.data())
def test_twilio_callbacks_with_mutated_fields(channel, data):
    form = data.draw(mutated(TWILIO, values=st.text(max_size=30)))
    _posted(channel, "/api/v1/ingest/voice/twilio", urlencode(form), content_type="application/x-www-form-urlencoded")


@THROUGH_HTTP
@given(data=st.data())
def test_chat_transcripts_and_connect_records_mutated(channel, data):
    _posted(channel, "/api/v1/ingest/chat", data.draw(mutated(fixture_json("chat/transcript.json"))), format="json")
    record = data.draw(mutated(fixture_json("connect/ctr_answered.json")))
    _posted(channel, "/api/v1/ingest/voice/connect", record, format="json")


@THROUGH_HTTP
@given(data=st.data())
def test_raw_emails_with_bytes_cut_or_replaced(channel, data):
    raw = bytearray(fixture_bytes(f"email/{data.draw(st.sampled_from(['customer_reply', 'with_attachments']))}.eml"))
    for _ in range(data.draw(st.integers(1, 3))):
        start = data.draw(st.integers(0, len(raw)))
        raw[start : start + data.draw(st.integers(0, 30))] = data.draw(st.binary(max_size=20))
    _posted(channel, "/api/v1/ingest/email", bytes(raw), content_type="message/rfc822")


@THROUGH_HTTP
@given(
    fields=st.dictionaries(
        st.sampled_from(["headers", "from", "to", "text", "html", "email", "message-headers", "charsets"]),
        st.text(max_size=60),
        max_size=5,
    )
)
def test_inbound_email_forms_of_any_fields(channel, fields):
    _posted(channel, "/api/v1/ingest/email/inbound", fields)


TRAIT_NAMES = ["name", "firstName", "lastName", "first_name", "language", "createdAt", "customer_since", "birthday"]


@THROUGH_HTTP
@given(traits=st.dictionaries(st.sampled_from(TRAIT_NAMES + ["address", "email", "phone"]) | st.text(), json_values))
def test_identify_with_any_traits_is_linked_without_a_crash(channel, traits):
    _posted(channel, "/api/v1/ingest/segment/v1/identify", {"userId": "u-1", "traits": traits}, format="json")
