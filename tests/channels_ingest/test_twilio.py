from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest

from channels_ingest.normalizers import NormalizationError
from channels_ingest.normalizers.twilio import delivery_key, normalize
from tests.channels import delivery, fixture_bytes


def callback(name: str, **changes) -> dict:
    form = dict(parse_qsl(fixture_bytes(f"twilio/{name}.form").decode().strip()))
    form.update(changes)
    return form


def test_an_answered_call_is_one_voice_interaction_from_the_callers_number():
    event = normalize(callback("inbound_completed"), delivery("pbx"))
    assert event.external_id == "CA5b1c7d9e2f4a6b8c0d1e3f5a7b9c2d4e"
    assert event.channel == "voice" and event.direction == "inbound" and event.type == "call"
    assert [(i.kind, i.value) for i in event.identifiers] == [("phone", "+14155550100")]
    assert event.summary == "Inbound call, 4 min 12 s"
    assert event.attributes["outcome"] == "answered" and event.attributes["duration_seconds"] == 252
    # The final callback comes when the call ends: the call started its duration earlier.
    assert event.occurred_at == datetime(2026, 11, 21, 9, 45, 9, tzinfo=UTC)
    assert event.revision == 2


def test_each_callback_of_a_call_is_its_own_delivery_of_the_same_interaction():
    keys = {delivery_key(callback(name)) for name in ("inbound_ringing", "inbound_in_progress", "inbound_completed")}
    assert len(keys) == 3
    assert delivery_key(callback("inbound_completed")) == "CA5b1c7d9e2f4a6b8c0d1e3f5a7b9c2d4e:2"


def test_missed_and_abandoned_calls_are_recorded_as_such():
    missed = normalize(callback("inbound_no_answer"), delivery())
    abandoned = normalize(callback("inbound_canceled_in_queue"), delivery())
    assert (missed.attributes["outcome"], missed.summary) == ("missed", "Missed inbound call")
    assert abandoned.attributes["outcome"] == "abandoned" and abandoned.attributes["queue_seconds"] == "95"
    assert abandoned.summary == "Abandoned inbound call: hung up before it was answered"


def test_an_outbound_call_is_filed_under_the_number_called_and_a_client_leg_names_the_agent():
    event = normalize(
        callback("inbound_completed", Direction="outbound-dial", From="client:priya", To="+14155550100"), delivery()
    )
    assert event.direction == "outbound"
    assert [i.value for i in event.identifiers] == ["+14155550100"]
    assert event.agent.external_id == "client:priya" and event.agent.name == "priya"


def test_a_withheld_number_cannot_be_filed_under_a_customer():
    with pytest.raises(NormalizationError, match="withheld their number"):
        normalize(callback("withheld_caller"), delivery())


def test_without_a_sequence_number_the_callback_time_and_status_order_the_callbacks():
    ringing = normalize(callback("inbound_ringing", SequenceNumber=""), delivery())
    answered = normalize(callback("inbound_in_progress", SequenceNumber=""), delivery())
    assert ringing.revision < answered.revision
    assert delivery_key(callback("inbound_ringing", SequenceNumber="")).endswith(":ringing")


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"CallSid": ""}, "CallSid: required"),
        ({"CallStatus": "exploded"}, "CallStatus: 'exploded' is not one of"),
    ],
)
def test_callbacks_the_service_cannot_accept_name_the_problem(changes, error):
    with pytest.raises(NormalizationError, match=error):
        delivery_key(callback("inbound_ringing", **changes))


def test_a_bad_duration_fails_normalization_naming_it():
    with pytest.raises(NormalizationError, match="CallDuration: 'long' is not a whole number"):
        normalize(callback("inbound_completed", CallDuration="long"), delivery())
