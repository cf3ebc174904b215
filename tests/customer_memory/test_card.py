import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from customer_memory.models import Customer
from customer_memory.card import customer_card, empty_card
from customer_memory.selectors import customer_by_identifier
from tests.contract import CARD_CONTRACT_KEYS
from tests.personas import MILES_PHONE_NATIONAL, miles_call, miles_chat

pytestmark = pytest.mark.django_db

CONTRACT_KEYS = CARD_CONTRACT_KEYS["card"]


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


GOLDEN_NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
GOLDEN_CARD = Path(__file__).parent / "golden" / "card_miles.json"


def _stable_ids(card: dict) -> dict:
    """The card with each uuid replaced by its order of first appearance, so the golden file is stable."""
    text = json.dumps(card)
    ids = {}
    for found in re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text):
        ids.setdefault(found, f"<id {len(ids) + 1}>")
    for value, placeholder in ids.items():
        text = text.replace(value, placeholder)
    return json.loads(text)


def test_the_card_matches_its_golden_json(ingest):
    """The contract, whole: any change to a key, a value's shape or a sentence shows up here."""
    ingest(
        miles_call(
            external_id="call-old",
            occurred_at="2025-06-01T10:00:00Z",
            summary="Updated address",
            case={"external_id": "T-1", "title": "Moved house", "status": "resolved"},
            agent={"external_id": "ag-12", "name": "Dave"},
        ),
        miles_chat(occurred_at="2026-11-20T09:48:00Z"),
        miles_chat(
            external_id="note-1",
            direction="internal",
            occurred_at="2026-11-20T09:50:00Z",
            summary="Customer sounded upset",
            case=None,
            agent=None,
        ),
    )
    card = customer_card(customer_by_identifier("phone", MILES_PHONE_NATIONAL), now=GOLDEN_NOW)

    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN_CARD.write_text(json.dumps(_stable_ids(card), indent=2, ensure_ascii=False) + "\n")
    assert _stable_ids(card) == json.loads(GOLDEN_CARD.read_text())


def test_internal_notes_are_not_the_last_contact(ingest):
    now = timezone.now()
    ingest(
        miles_chat(occurred_at=iso(now - timedelta(minutes=12))),
        miles_chat(external_id="note", direction="internal", occurred_at=iso(now - timedelta(minutes=2)), case=None),
    )
    card = customer_card(Customer.objects.get())
    assert card["recent_interactions"][0]["direction"] == "internal"
    assert card["last_contact"]["direction"] == "inbound"
    assert "12 minutes ago" in card["greeting"]


def test_a_verified_identifier_shows_as_verified(ingest):
    ingest(miles_call(customer={"phone": "+14155550100", "verified": ["phone"]}))
    card = customer_card(Customer.objects.get())
    assert card["customer"]["verified"] is True
    assert card["customer"]["identifiers"] == [{"kind": "phone", "value": "+14155550100", "verified": True}]
