import pytest

from channels_ingest.normalizers import NormalizationError
from channels_ingest.normalizers.chat import delivery_key, normalize
from tests.channels import delivery, fixture_json


def test_a_transcript_is_one_conversation_with_its_turns_authors_and_last_agent():
    event = normalize(fixture_json("chat/transcript.json"), delivery("helpdesk"))
    assert event.external_id == "conv-8841" and event.channel == "chat" and event.type == "conversation"
    assert {(i.kind, i.value) for i in event.identifiers} == {
        ("email", "miles@example.com"),
        ("handle", "miles_r"),
        ("anonymous_id", "7e3c1d3a-5f0b-4a57-9d8e-0b1c2d3e4f50"),
    }
    assert [m["author"] for m in event.messages] == ["bot", "customer", "agent", "customer"]
    assert event.agent.external_id == "ag-5" and event.agent.name == "Priya"
    assert event.summary == ""  # the timeline derives it from the merged messages
    assert event.attributes["status"] == "closed" and event.attributes["tags"] == ["cards", "declined"]
    assert event.traits == {"name": "Miles Reed"}


def test_single_messages_of_a_conversation_are_separate_deliveries_of_one_interaction():
    messages = fixture_json("chat/messages.json")
    events = [normalize(m, delivery()) for m in messages]
    assert {e.external_id for e in events} == {"conv-9001"}
    assert len({delivery_key(m) for m in messages}) == 3
    assert events[0].revision < events[1].revision < events[2].revision


def test_a_longer_transcript_of_the_same_conversation_is_a_new_delivery():
    transcript = fixture_json("chat/transcript.json")
    shorter = {**transcript, "messages": transcript["messages"][:2]}
    assert delivery_key(transcript) != delivery_key(shorter)


@pytest.mark.parametrize(
    "change, error",
    [
        ({"conversation_id": None}, "conversation_id: required"),
        ({"messages": "hello"}, "messages: must be a list"),
        ({"messages": [{"text": "no id"}]}, r"messages\[0\].id: required"),
    ],
)
def test_chat_events_the_service_cannot_accept_name_the_problem(change, error):
    with pytest.raises(NormalizationError, match=error):
        delivery_key({**fixture_json("chat/transcript.json"), **change})


def test_a_visitor_without_any_identifier_fails_normalization():
    transcript = {**fixture_json("chat/transcript.json"), "visitor": {"name": "Someone"}}
    with pytest.raises(NormalizationError, match="visitor: needs at least one identifier"):
        normalize(transcript, delivery())


def test_a_delivery_key_of_long_ids_stays_within_the_inbox_column():
    message = {"conversation_id": "c" * 255, "visitor": {"id": "v"}, "message": {"id": "m" * 255, "at": "x"}}
    key = delivery_key(message)
    assert key.startswith("sha256:") and len(key) <= 255
    assert delivery_key(message) == key


def test_a_mistyped_email_does_not_lose_a_conversation_that_has_another_identifier():
    transcript = {**fixture_json("chat/transcript.json"), "visitor": {"handle": "miles_r", "email": "miles@"}}
    event = normalize(transcript, delivery())
    assert [(i.kind, i.value) for i in event.identifiers] == [("handle", "miles_r")]


def test_a_visitor_known_only_by_an_unreadable_phone_fails_naming_it():
    transcript = {**fixture_json("chat/transcript.json"), "visitor": {"phone": "call me"}}
    with pytest.raises(NormalizationError, match="visitor: needs at least one identifier .*'call me' is not a phone"):
        normalize(transcript, delivery())
