from datetime import UTC, datetime, timedelta

import pytest

from channels_ingest.normalizers import NormalizationError
from channels_ingest.normalizers.segment import delivery_key_checked, normalize
from tests.channels import ARRIVAL, delivery, fixture_json


def _batch(name="segment/batch_analytics_js.json"):
    body = fixture_json(name)
    return [{**message, "sentAt": body.get("sentAt")} for message in body["batch"]]


def test_identify_states_identifiers_and_traits_and_puts_nothing_on_the_timeline():
    identify = _batch()[0]
    event = normalize(identify, delivery("website"))
    assert event.on_timeline is False
    assert event.source == "website" and event.external_id == identify["messageId"]
    assert {(i.kind, i.value) for i in event.identifiers} == {
        ("user_id", "user-1001"),
        ("anonymous_id", "7e3c1d3a-5f0b-4a57-9d8e-0b1c2d3e4f50"),
        ("email", "miles@example.com"),
        ("phone", "+14155550100"),
    }
    assert event.traits["first_name"] == "Miles" and event.traits["last_name"] == "Reed"
    assert event.traits["customer_since"] == "2015-04-02"
    assert event.traits["address"] == {
        "line1": "12 Harbour St",
        "city": "Leith",
        "postcode": "EH6 6QW",
        "country": "GB",
    }
    assert event.traits["plan"] == "premium" and event.traits["logins"] == 212


def test_page_and_track_are_web_interactions_with_their_properties():
    _, page, track, _ = _batch()
    page_event, track_event = normalize(page, delivery()), normalize(track, delivery())
    assert page_event.on_timeline and page_event.channel == "web" and page_event.type == "page"
    assert page_event.summary == "Viewed page: Why was my card declined?"
    assert page_event.attributes["url"] == "https://example.com/help/declined"
    assert track_event.summary == "Card Payment Failed"
    assert track_event.attributes["properties"]["decline_code"] == "insufficient_funds"


def test_the_device_clock_is_corrected_by_sent_at_as_segment_does():
    screen = fixture_json("segment/mobile_screen_skewed_clock.json")  # the phone's clock is weeks ahead
    event = normalize(screen, delivery(received_at=ARRIVAL))
    assert event.occurred_at == ARRIVAL - timedelta(seconds=5)
    assert event.summary == "Viewed screen: Card details"
    assert [i.kind for i in event.identifiers] == ["anonymous_id"]


def test_a_timestamp_without_sent_at_far_in_the_future_is_refused():
    track = {"type": "track", "event": "X", "userId": "u1", "timestamp": "2027-06-01T00:00:00Z"}
    with pytest.raises(NormalizationError, match="timestamp: .* after the event arrived"):
        normalize(track, delivery())


def test_group_records_a_trait_without_a_timeline_entry():
    group = _batch()[3]
    event = normalize(group, delivery())
    assert event.on_timeline is False
    assert event.traits == {"group": {"id": "acct-77", "name": "Reed Household", "plan": "family"}}


def test_alias_stitches_the_previous_anonymous_id_to_the_user_id():
    alias = fixture_json("segment/alias_and_identify_ugly.json")["batch"][0]
    event = normalize(alias, delivery())
    assert {(i.kind, i.value) for i in event.identifiers} == {
        ("user_id", "1001"),
        ("anonymous_id", "7e3c1d3a-5f0b-4a57-9d8e-0b1c2d3e4f50"),
    }


def test_unreadable_traits_stay_traits_instead_of_failing_the_identify():
    identify = fixture_json("segment/alias_and_identify_ugly.json")["batch"][1]
    event = normalize(identify, delivery())
    assert [(i.kind, i.value) for i in event.identifiers] == [("user_id", "1001")]
    assert event.traits["email"] == "not an email" and event.traits["phone"] == "n/a"
    assert event.traits["name"] == "Miles Reed"
    assert event.traits["customer_since"] == datetime.fromtimestamp(1428000000, UTC).date().isoformat()
    assert event.traits["birthday"] == "sometime in the 80s"
    assert "" not in event.traits


def test_a_message_without_message_id_is_keyed_by_its_content():
    track = {"type": "track", "event": "Signed In", "userId": "u1", "timestamp": "2026-11-21T09:00:00Z"}
    assert delivery_key_checked(track) == delivery_key_checked(dict(track))
    assert delivery_key_checked(track).startswith("sha256:")
    assert delivery_key_checked(track) != delivery_key_checked({**track, "event": "Signed Out"})


@pytest.mark.parametrize(
    "message, error",
    [
        ({"type": "track", "event": "X"}, "userId or anonymousId: one is required"),
        ({"type": "fly", "userId": "u"}, "type: 'fly' is not one of"),
        ({"type": "track", "userId": "u"}, "track: event is required"),
        ({"type": "alias", "userId": "u"}, "alias: previousId and userId are required"),
        ({"type": "group", "userId": "u"}, "group: groupId is required"),
        ("identify", "a message must be a JSON object"),
    ],
)
def test_messages_the_service_cannot_accept_name_the_problem(message, error):
    with pytest.raises(NormalizationError, match=error):
        delivery_key_checked(message)


def test_custom_traits_cannot_pass_for_the_ones_the_customer_record_reads():
    identify = {
        "type": "identify",
        "userId": "u1",
        "traits": {"name": {"first": "Miles"}, "customer_since": "soon", "language": 7, "firstName": "Miles"},
    }
    traits = normalize(identify, delivery()).traits
    assert traits == {
        "segment_name": {"first": "Miles"},
        "segment_customer_since": "soon",
        "segment_language": 7,
        "first_name": "Miles",
    }
