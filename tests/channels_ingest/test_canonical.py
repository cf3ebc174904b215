from datetime import UTC, datetime

import pytest

from channels_ingest.normalizers import NormalizationError, NormalizedEvent, normalize_payload
from channels_ingest.normalizers.canonical import normalize
from tests.personas import miles_chat


def test_a_full_canonical_event_is_normalized():
    event = normalize(miles_chat())
    assert event.source == "helpdesk" and event.external_id == "chat-1"
    assert event.channel == "chat" and event.direction == "inbound"
    assert event.occurred_at == datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    assert {(i.kind, i.value) for i in event.identifiers} == {
        ("phone", "+14155550100"),
        ("email", "miles@example.com"),
    }
    assert event.traits["customer_since"] == "2015-04-02"
    assert event.traits["name"] == "Miles Reed"
    assert event.case.external_id == "T-9" and event.case.status == "open"
    assert event.agent.name == "Priya"


def test_the_normalized_event_round_trips_through_json():
    event = normalize(miles_chat())
    assert NormalizedEvent.from_json(event.to_json()) == event


def test_a_time_without_offset_is_read_as_utc():
    event = normalize(miles_chat(occurred_at="2026-11-23T09:30:00"))
    assert event.occurred_at.tzinfo is not None and event.occurred_at.hour == 9


@pytest.mark.parametrize(
    "change, message",
    [
        ({"channel": "fax"}, "channel: 'fax' is not a channel"),
        ({"channel": None}, "channel: required"),
        ({"source": ""}, "source: required"),
        ({"external_id": None}, "external_id: required"),
        ({"occurred_at": "yesterday"}, "occurred_at: 'yesterday' is not an ISO 8601"),
        ({"occurred_at": "2026-13-45T10:00:00Z"}, "occurred_at"),
        ({"direction": "sideways"}, "direction: 'sideways'"),
        ({"customer": {"name": "Nobody"}}, "customer: needs at least one identifier"),
        ({"customer": {"phone": "12"}}, "customer.phone: '12' is not"),
        ({"customer": {"email": "x@", "phone": "+14155550100"}}, "customer.email"),
        ({"customer": {"phone": "+14155550100", "date_of_birth": "29/02/1980"}}, "customer.date_of_birth"),
        ({"case": {"title": "no id"}}, "case.external_id: required"),
        ({"case": {"external_id": "T-1", "status": "exploded"}}, "case.status"),
        ({"attributes": [1, 2]}, "attributes: must be an object"),
        ({"summary": "x" * 10_001}, "summary: longer than"),
    ],
)
def test_each_problem_is_named_in_the_error(change, message):
    with pytest.raises(NormalizationError, match=message.replace("(", r"\(")):
        normalize(miles_chat(**change))


@pytest.mark.parametrize("payload", [None, [], "text", 42])
def test_a_payload_that_is_not_an_object_is_refused(payload):
    with pytest.raises(NormalizationError, match="must be a JSON object"):
        normalize(payload)


def test_an_unknown_format_has_no_normalizer():
    with pytest.raises(NormalizationError, match="no normalizer"):
        normalize_payload("carrier-pigeon", {})


def test_an_event_dated_beyond_the_clock_skew_is_refused(settings):
    from datetime import timedelta

    from django.utils import timezone

    too_late = (timezone.now() + settings.INGEST_MAX_CLOCK_SKEW + timedelta(minutes=5)).isoformat()
    with pytest.raises(NormalizationError, match="occurred_at: .* is in the future"):
        normalize(miles_chat(occurred_at=too_late))


def test_verified_identifier_keys_are_marked_verified():
    event = normalize(miles_chat(customer={"phone": "+14155550100", "email": "m@example.com", "verified": ["phone"]}))
    assert {(i.kind, i.verified) for i in event.identifiers} == {("phone", True), ("email", False)}
