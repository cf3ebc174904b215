from datetime import timedelta

import pytest
from django.utils import timezone

from customer_memory.models import Customer
from customer_memory.selectors import customer_by_identifier, customer_card, empty_card
from tests.personas import miles_call, miles_chat

pytestmark = pytest.mark.django_db

CONTRACT_KEYS = {
    "known",
    "customer",
    "tenure",
    "greeting",
    "open_cases",
    "recent_cases",
    "recent_interactions",
    "last_contact",
    "promises",
    "handover_notes",
    "likely_reasons",
    "details_to_confirm",
    "experience",
}


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def miles(ingest):
    """Miles chatted 12 minutes ago about a failed payment, then calls; a customer since 2015."""
    now = timezone.now()
    ingest(
        miles_chat(occurred_at=iso(now - timedelta(minutes=12))),
        miles_call(occurred_at=iso(now - timedelta(minutes=1))),
        miles_chat(
            external_id="old",
            occurred_at=iso(now - timedelta(days=400)),
            case={"external_id": "T-1", "title": "Moved house", "status": "resolved"},
            summary="Updated address",
        ),
    )
    return customer_by_identifier("phone", "+1 415 555 0100")


def test_the_card_of_a_ten_year_customer(miles):
    card = customer_card(miles)
    assert CONTRACT_KEYS <= set(card)
    assert card["known"] is True
    assert card["customer"]["name"] == "Miles Reed" and card["customer"]["preferred_name"] == "Miles"
    assert {"kind": "phone", "value": "+14155550100", "verified": False} in card["customer"]["identifiers"]
    assert card["tenure"]["since"] == "2015-04-02" and card["tenure"]["source"] == "record"
    assert card["tenure"]["years"] >= 10 and card["tenure"]["text"].startswith("customer for ")
    assert card["greeting"].startswith("Welcome back, Miles — ")
    assert "years with us" in card["greeting"]


def test_recent_interactions_are_newest_first_across_channels(miles):
    card = customer_card(miles)
    assert [i["channel"] for i in card["recent_interactions"]] == ["voice", "chat", "chat"]
    assert card["recent_interactions"][1]["agent"]["name"] == "Priya"
    assert card["last_contact"]["channel"] == "voice"
    assert card["last_contact"]["ago"] == "1 minute ago"


def test_open_cases_come_apart_from_recently_resolved_ones(miles):
    card = customer_card(miles)
    assert [c["title"] for c in card["open_cases"]] == ["Card payment failed"]
    assert card["open_cases"][0]["channel"] == "chat"
    assert [c["title"] for c in card["recent_cases"]] == ["Moved house"]
    assert card["recent_cases"][0]["status"] == "resolved"


def test_the_greeting_carries_the_latest_contact(ingest):
    ingest(miles_chat(occurred_at=iso(timezone.now() - timedelta(minutes=12))))
    card = customer_card(customer_by_identifier("phone", "4155550100"))
    assert card["greeting"].endswith(
        "You chatted with us 12 minutes ago: Card payment failed; asked to call the voice line."
    )


def test_a_customer_without_a_source_tenure_counts_from_first_contact(ingest):
    ingest(miles_call(occurred_at=iso(timezone.now() - timedelta(days=800))))
    card = customer_card(Customer.objects.get())
    assert card["tenure"]["source"] == "first_contact"
    assert card["tenure"]["years"] == 2 and card["tenure"]["text"] == "customer for 2 years"
    assert card["greeting"].startswith("Welcome back — two years with us.")


def test_an_unknown_caller_gets_an_empty_card_with_every_key():
    card = empty_card({"kind": "phone", "value": "+14155550999"})
    assert CONTRACT_KEYS <= set(card)
    assert card["known"] is False and card["customer"] is None
    assert all(card[key] == [] for key in ("open_cases", "recent_cases", "recent_interactions", "promises"))


def test_the_card_costs_the_same_queries_for_a_long_history(ingest, django_assert_num_queries):
    ingest(miles_chat())
    customer = Customer.objects.get()
    with django_assert_num_queries(4):
        customer_card(customer)
    ingest(
        *[miles_call(external_id=f"call-{n}", case={"external_id": f"T-{n}", "status": "resolved"}) for n in range(40)]
    )
    with django_assert_num_queries(4):
        card = customer_card(customer)
    assert len(card["recent_interactions"]) == 5 and len(card["recent_cases"]) == 5
