"""The timeline service merging several deliveries about one interaction (a call's callbacks, a chat)."""

from datetime import UTC, datetime, timedelta

import pytest

from channels_ingest.normalizers.event import AgentRef, NormalizedEvent
from customer_memory.identifiers import ObservedIdentifier
from customer_memory.models import Customer
from interactions.models import Interaction
from interactions.services import interaction_record, messages_merge

pytestmark = pytest.mark.django_db
START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


@pytest.fixture
def customer():
    return Customer.objects.create(first_seen_at=START, last_seen_at=START)


def delivery(revision, *, summary="", at=START, agent=None, messages=(), status=""):
    return NormalizedEvent(
        source="pbx",
        external_id="CA-1",
        channel="voice",
        occurred_at=at,
        identifiers=[ObservedIdentifier("phone", "+14155550100")],
        summary=summary,
        agent=agent,
        attributes={"status": status},
        revision=revision,
        messages=list(messages),
    )


def test_the_highest_revision_wins_whatever_order_deliveries_arrive_in(customer):
    interaction_record(customer=customer, event=delivery(3, summary="completed", status="completed"))
    interaction_record(customer=customer, event=delivery(1, summary="ringing", at=START - timedelta(seconds=20)))

    call = Interaction.objects.get()
    assert (call.summary, call.attributes, call.revision) == ("completed", {"status": "completed"}, 3)
    assert call.occurred_at == START - timedelta(seconds=20)  # the earliest start any delivery reports


def test_an_equal_revision_replaces_the_content_as_a_reprocess_does(customer):
    interaction_record(customer=customer, event=delivery(2, summary="before the fix"))
    interaction_record(customer=customer, event=delivery(2, summary="after the fix"))
    assert Interaction.objects.get().summary == "after the fix"


def test_a_later_delivery_naming_no_agent_keeps_the_agent_named_before(customer):
    interaction_record(customer=customer, event=delivery(1, agent=AgentRef("client:priya", "priya")))
    interaction_record(customer=customer, event=delivery(2, summary="completed"))
    assert Interaction.objects.get().agent.name == "priya"


def test_messages_merge_by_id_in_time_order_and_the_summary_is_the_customers_first_words(customer):
    late_first = {"id": "m1", "at": "2026-11-21T09:00:00+00:00", "author": "customer", "text": "My card failed"}
    reply = {"id": "m2", "at": "2026-11-21T09:01:00+00:00", "author": "agent", "text": "Please call us"}
    interaction_record(customer=customer, event=delivery(2, messages=[reply]))
    interaction_record(customer=customer, event=delivery(1, messages=[late_first, reply]))

    call = Interaction.objects.get()
    assert [m["id"] for m in call.messages] == ["m1", "m2"]
    assert call.summary == "My card failed"


def test_merging_keeps_the_incoming_copy_of_a_message():
    stored = [{"id": "a", "at": "1", "text": "old"}]
    assert messages_merge(stored, [{"id": "a", "at": "1", "text": "edited"}]) == [
        {"id": "a", "at": "1", "text": "edited"}
    ]
