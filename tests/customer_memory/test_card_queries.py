"""The cold card's one PostgreSQL query (customer_memory.card_queries) against the ORM path it replaces."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from customer_memory.card import card_facts, card_render, customer_card
from customer_memory.card_queries import live_card_facts
from customer_memory.models import Customer
from customer_memory.selectors import customer_by_identifier
from interactions.models import Agent, Case
from interactions.services import handover_create, promise_create, promise_update
from tests.personas import (
    MILES_EMAIL,
    MILES_PHONE_NATIONAL,
    miles_account_update,
    miles_app_login,
    miles_call,
    miles_chat,
    miles_email_reply,
    miles_shop_order,
    miles_web_visit,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the hand-written query is PostgreSQL's"),
]


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def varied_miles(ingest):
    """miles with a bit of everything a card shows: two customers merged into one (so a merged-away id), every
    channel, open and resolved cases, an internal note, CSAT and sentiment as numbers and words, a channel's
    outcome of a chat (question, answer, next step), an address restated, promises open, overdue and kept, and
    handovers on an open and a resolved case."""
    now = timezone.now()
    ingest(miles_app_login(), miles_shop_order(), miles_account_update())  # merges the app's and the shop's
    ingest(
        miles_chat(
            occurred_at=iso(now - timedelta(minutes=12)),
            attributes={"question": "why was my card declined", "answer": "a fraud check", "next_step": 3, "csat": 4},
            customer={"phone": MILES_PHONE_NATIONAL, "email": MILES_EMAIL, "address": {"line1": "1 Shore Rd"}},
        ),
        miles_call(occurred_at=iso(now - timedelta(minutes=1)), attributes={"sentiment": "Negative"}),
        miles_email_reply(occurred_at=iso(now - timedelta(days=2)), attributes={"csat": "2.5", "sentiment": 0.2}),
        miles_web_visit(occurred_at=iso(now - timedelta(days=3))),
        miles_call(
            external_id="note-1",
            direction="internal",
            occurred_at=iso(now - timedelta(minutes=5)),
            summary="Agent note: card blocked by the fraud team",
            case={"external_id": "T-9", "title": "Card payment failed", "status": "pending"},
            agent={"external_id": "ag-7", "name": "Dave"},
        ),
        miles_chat(
            external_id="old",
            occurred_at=iso(now - timedelta(days=400)),
            case={"external_id": "T-1", "title": "Moved house", "status": "resolved"},
            customer={"phone": MILES_PHONE_NATIONAL, "address": {"line1": "9 Old Lane", "city": "Leith"}},
            attributes={"sentiment": "not a sentiment"},
        ),
    )
    miles = customer_by_identifier("phone", MILES_PHONE_NATIONAL)
    priya, dave = Agent.objects.get(external_id="ag-5"), Agent.objects.get(external_id="ag-7")
    open_case = Case.objects.get(source="helpdesk", external_id="T-9")
    resolved = Case.objects.get(external_id="T-1")
    promise_create(customer=miles, kind="callback", due_at=now + timedelta(hours=2), owner=dave, case=open_case)
    promise_create(customer=miles, kind="follow_up", due_at=now - timedelta(hours=1), note="send the form")
    kept = promise_create(customer=miles, kind="callback", due_at=now + timedelta(hours=3))
    promise_update(promise=kept, changes={"status": "kept"})
    handover_create(case=open_case, from_agent=priya, to_agent=dave, note="Card blocked, knows the story")
    handover_create(case=resolved, from_agent=dave, to_agent=priya, note="Not on the card: the case is closed")
    return miles


def test_the_query_and_the_orm_give_the_same_facts_for_a_varied_customer(varied_miles):
    facts = live_card_facts(varied_miles.pk)

    assert facts == card_facts(varied_miles)
    # The customer is varied as intended: every section has something to compare.
    assert {i["channel"] for i in facts["interactions"]} == {"chat", "voice", "email", "web"}
    assert facts["open_cases"] and facts["recent_cases"] and len(facts["promises"]) == 2
    assert len(facts["handover_notes"]) == 1 and len(facts["experience"]) == 3
    assert [d["field"] for d in facts["details"]][:1] == ["address"]
    assert {i["kind"] for i in facts["customer"]["identifiers"]} >= {"phone", "email", "account"}


def test_the_query_and_the_orm_give_the_same_card(varied_miles):
    now = timezone.now()
    lookup = {"kind": "phone", "value": MILES_PHONE_NATIONAL}

    by_query = card_render(live_card_facts(varied_miles.pk), lookup=lookup, now=now)

    assert by_query == card_render(card_facts(varied_miles), lookup=lookup, now=now)
    assert by_query["last_contact"]["continuation"] is None  # a call on the voice channel: no switch
    assert by_query["experience"]["data_points"] == 3


def test_a_merged_away_or_unknown_id_has_no_facts(varied_miles):
    merged = Customer.objects.exclude(merged_into=None).get()

    assert merged.merged_into_id == varied_miles.pk
    assert live_card_facts(merged.pk) is None
    assert live_card_facts("00000000-0000-0000-0000-000000000000") is None


def test_a_customer_with_nothing_but_an_identifier(ingest):
    ingest(miles_app_login())
    customer = Customer.objects.get()

    assert live_card_facts(customer.pk) == card_facts(customer)
    assert live_card_facts(customer.pk)["promises"] == []


def test_the_card_is_one_query(varied_miles, django_assert_num_queries):
    with django_assert_num_queries(1):
        card = customer_card(varied_miles)
    assert card["known"] is True and len(card["recent_interactions"]) == 5
