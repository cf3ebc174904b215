import pytest

from channels_ingest.models import RawEvent
from interactions.models import Interaction
from tests.channels import fixture_json

pytestmark = pytest.mark.django_db
CHAT = "/api/v1/ingest/chat"


def test_messages_arriving_one_by_one_out_of_order_and_twice_make_one_conversation(channel):
    first, second, third = fixture_json("chat/messages.json")
    for event in (second, first, third, first):
        assert channel.post(CHAT, event, format="json").status_code == 202

    assert RawEvent.objects.count() == 3
    conversation = Interaction.objects.get()
    assert [m["id"] for m in conversation.messages] == ["msg-1", "msg-2", "msg-3"]
    assert conversation.summary == "Hello, is my invoice ready?"
    assert conversation.occurred_at.isoformat() == "2026-11-21T12:00:00+00:00"
    assert conversation.agent.name == "Sam"
    assert conversation.attributes["last_message_at"] == "2026-11-21T12:02:00+00:00"


def test_a_transcript_after_its_live_messages_adds_no_second_interaction(channel):
    transcript = fixture_json("chat/transcript.json")
    live = {k: v for k, v in transcript.items() if k != "messages"}
    channel.post(CHAT, {**live, "message": transcript["messages"][1]}, format="json")

    response = channel.post(CHAT, transcript, format="json")

    assert response.status_code == 202
    conversation = Interaction.objects.get()
    assert len(conversation.messages) == 4
    assert conversation.summary == "My card payment failed at a cafe this morning"
    assert conversation.attributes["status"] == "closed"


def test_a_list_with_one_bad_chat_event_stores_nothing(channel):
    good = fixture_json("chat/transcript.json")
    response = channel.post(CHAT, [good, {"messages": []}], format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "event 1: conversation_id: required"
    assert RawEvent.objects.count() == 0


def test_a_chat_event_that_cannot_be_normalized_is_kept_failed_and_reprocessable(channel):
    transcript = {**fixture_json("chat/transcript.json"), "visitor": {"name": "No identifier"}}
    response = channel.post(CHAT, transcript, format="json")
    assert response.status_code == 202
    event = RawEvent.objects.get()
    assert event.status == "failed" and event.error.startswith("visitor: needs at least one identifier")
