import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from customer_memory.card import card_text, customer_card, empty_card
from customer_memory.models import Customer
from customer_memory.selectors import customer_by_identifier
from interactions.models import Agent, Case
from interactions.services import handover_create, promise_create, promise_update
from tests.contract import CARD_CONTRACT_KEYS
from tests.personas import (
    MILES_PHONE_NATIONAL,
    miles_call,
    miles_chat,
    miles_email_reply,
    miles_shop_order,
    miles_web_visit,
)

pytestmark = pytest.mark.django_db

CONTRACT_KEYS = CARD_CONTRACT_KEYS["card"]
# On PostgreSQL the card's facts are one hand-written query (customer_memory.card_queries); the ORM path's
# eight (identifiers, active cases, other cases, interactions, promises, handovers, traits, experience) are
# SQLite's.
CARD_QUERIES = 1 if connection.vendor == "postgresql" else 8


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


def minutes_ago(minutes):
    return iso(timezone.now() - timedelta(minutes=minutes))


def priya():
    return Agent.objects.get_or_create(source="helpdesk", external_id="ag-5", defaults={"name": "Priya"})[0]


def dave():
    return Agent.objects.get_or_create(source="directory", external_id="dave", defaults={"name": "Dave"})[0]


def card_of_caller(**kwargs):
    """The card as the phone desk sees it: found by phone, so the customer is on the voice channel."""
    return customer_card(
        customer_by_identifier("phone", MILES_PHONE_NATIONAL),
        lookup={"kind": "phone", "value": MILES_PHONE_NATIONAL},
        **kwargs,
    )


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
    ingest(miles_chat(occurred_at=iso(timezone.now() - timedelta(days=3))))
    card = customer_card(customer_by_identifier("phone", "4155550100"))
    assert (
        card["greeting"]
        == "Welcome back, Miles — eleven years with us. You chatted with us 3 days ago about card payment failed."
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
    with django_assert_num_queries(CARD_QUERIES):
        customer_card(customer)
    ingest(
        *[
            miles_call(
                external_id=f"call-{n}",
                direction="outbound" if n % 2 else "inbound",
                case={"external_id": f"T-{n}", "status": "resolved" if n % 3 else "open"},
                customer={"phone": MILES_PHONE_NATIONAL, "address": {"line1": f"{n} Harbour St", "city": "Leith"}},
                attributes={"csat": 1 + n % 5},
            )
            for n in range(40)
        ]
    )
    for n in range(5):
        promise_create(customer=customer, kind="callback", due_at=timezone.now() + timedelta(hours=n))
        handover_create(case=Case.objects.filter(status="open").first(), from_agent=priya(), to_agent=dave(), note="x")
    with django_assert_num_queries(CARD_QUERIES):
        card = customer_card(customer)
    assert len(card["recent_interactions"]) == 5 and len(card["recent_cases"]) == 5
    assert len(card["promises"]) == 5 and len(card["handover_notes"]) == 5
    assert [d["field"] for d in card["details_to_confirm"]][:1] == ["address"]


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
        miles_web_visit(occurred_at="2026-11-20T09:40:00Z", summary="Viewed: Why was my card declined?"),
        miles_call(
            external_id="call-old",
            occurred_at="2025-06-01T10:00:00Z",
            attributes={"csat": 5},
            summary="Updated address",
            case={"external_id": "T-1", "title": "Moved house", "status": "resolved"},
            agent={"external_id": "ag-12", "name": "Dave"},
        ),
        miles_chat(
            occurred_at="2026-11-20T09:48:00Z",
            customer={
                "phone": MILES_PHONE_NATIONAL,
                "email": "Miles@Example.com",
                "name": "Miles Reed",
                "customer_since": "2015-04-02",
                "address": {"line1": "12 Harbour St", "city": "Leith", "postcode": "EH6 6QW", "country": "GB"},
            },
            attributes={"csat": 2},
        ),
        miles_chat(
            external_id="note-1",
            direction="internal",
            occurred_at="2026-11-20T09:50:00Z",
            summary="Customer sounded upset",
            case=None,
            agent=None,
        ),
    )
    customer = customer_by_identifier("phone", MILES_PHONE_NATIONAL)
    case = Case.objects.get(external_id="T-9")
    # Pinned creation times: the golden file must not depend on when the test runs.
    promise = promise_create(
        customer=customer, case=case, owner=dave(), kind="callback", due_at=GOLDEN_NOW - timedelta(minutes=30)
    )
    handover = handover_create(case=case, from_agent=priya(), to_agent=dave(), note="Card blocked by fraud rules")
    type(promise).objects.filter(pk=promise.pk).update(created_at=GOLDEN_NOW - timedelta(hours=2))
    type(handover).objects.filter(pk=handover.pk).update(created_at=GOLDEN_NOW - timedelta(minutes=5))
    card = customer_card(customer, now=GOLDEN_NOW, lookup={"kind": "phone", "value": MILES_PHONE_NATIONAL})

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


# --- The channel switch: a recent contact on another channel is picked up, not restarted.


def test_a_caller_who_just_chatted_is_greeted_with_the_chat_continued(ingest):
    ingest(miles_chat(occurred_at=minutes_ago(12)))

    card = card_of_caller()

    assert card["greeting"] == (
        "Welcome back, Miles — eleven years with us. I see you chatted with us 12 minutes ago about card payment "
        "failed, and you were asked to call the voice line — let's pick up from there."
    )
    continuation = card["last_contact"]["continuation"]
    assert continuation["channel"] == "chat"
    assert continuation["asked"] == "card payment failed"
    assert continuation["next_step"] == "call the voice line"
    assert continuation["text"] == (
        "chatted with us 12 minutes ago about card payment failed; was told to call the voice line"
    )


def test_the_continuation_says_what_was_asked_said_and_to_do_when_the_channel_reports_it(ingest):
    ingest(
        miles_chat(
            occurred_at=minutes_ago(30),
            attributes={
                "question": "why my card payment failed",
                "answer": "the bank blocked it as suspected fraud",
                "next_step": "call us to unblock the card",
            },
        )
    )

    continuation = card_of_caller()["last_contact"]["continuation"]

    assert continuation == {
        "channel": "chat",
        "asked": "why my card payment failed",
        "said": "the bank blocked it as suspected fraud",
        "next_step": "call us to unblock the card",
        "text": "chatted with us 30 minutes ago about why my card payment failed; we said: the bank blocked it "
        "as suspected fraud; was told to call us to unblock the card",
    }


def test_no_continuation_on_the_same_channel(ingest):
    ingest(miles_chat(occurred_at=minutes_ago(12)))

    card = customer_card(customer_by_identifier("phone", MILES_PHONE_NATIONAL), channel="chat")

    assert card["last_contact"]["continuation"] is None
    assert card["greeting"].endswith("You chatted with us 12 minutes ago about card payment failed.")


def test_no_continuation_once_the_last_contact_is_older_than_the_window(ingest, settings):
    settings.CARD_CONTINUATION_WINDOW = timedelta(hours=24)
    ingest(miles_chat(occurred_at=minutes_ago(25 * 60)))

    card = card_of_caller()

    assert card["last_contact"]["continuation"] is None
    assert "pick up" not in card["greeting"]


# --- Likely reasons: data-driven rules over recent signals, with evidence.


def test_likely_reasons_rank_a_chat_that_said_call_us_above_a_help_page(ingest):
    ingest(
        miles_web_visit(occurred_at=minutes_ago(60)),
        miles_chat(occurred_at=minutes_ago(12)),
    )

    reasons = card_of_caller()["likely_reasons"]

    assert [r["reason"] for r in reasons] == [
        "Calling as asked in the chat 12 minutes ago about card payment failed",
        "Following up on the open case “Card payment failed”",
        "Read our help pages: viewed: Why was my card declined?",
    ]
    assert reasons[0]["evidence"] == ["chat inbound 12 minutes ago: Card payment failed; asked to call the voice line"]
    assert all(0 < r["confidence"] <= 1 for r in reasons)
    assert reasons[0]["confidence"] > reasons[1]["confidence"] > reasons[2]["confidence"]


def test_a_failed_payment_on_the_website_is_a_likely_reason(ingest):
    ingest(
        miles_web_visit(
            external_id="pay-1",
            type="payment_failed",
            summary="Card payment declined at checkout",
            occurred_at=minutes_ago(90),
        )
    )

    reasons = card_of_caller()["likely_reasons"]

    assert reasons[0]["reason"] == "A failed payment 1 hour ago"
    assert reasons[0]["evidence"] == ["web inbound 1 hour ago: Card payment declined at checkout"]
    assert reasons[0]["confidence"] == 0.7


def test_a_recent_order_is_a_likely_reason(ingest):
    ingest(miles_shop_order(occurred_at=minutes_ago(3 * 24 * 60)))

    reasons = customer_card(Customer.objects.get())["likely_reasons"]

    assert reasons == [
        {
            "reason": "A recent order or delivery: ordered a card reader",
            "confidence": 0.55,
            "evidence": ["web inbound 3 days ago: Ordered a card reader"],
        }
    ]


def test_an_overdue_promise_is_the_most_likely_reason(ingest):
    ingest(miles_chat(occurred_at=minutes_ago(3 * 60)))
    customer = customer_by_identifier("phone", MILES_PHONE_NATIONAL)
    promise = promise_create(
        customer=customer, owner=dave(), kind="callback", due_at=timezone.now() + timedelta(hours=1)
    )

    card = card_of_caller(now=timezone.now() + timedelta(hours=2))

    assert card["likely_reasons"][0]["reason"] == "Chasing the callback we promised and have not made yet"
    assert card["likely_reasons"][0]["evidence"] == ["callback by Dave was due 1 hour ago"]
    assert card["promises"][0]["id"] == str(promise.id) and card["promises"][0]["overdue"] is True


def test_old_signals_give_no_reason(ingest):
    ingest(miles_web_visit(occurred_at=minutes_ago(30 * 24 * 60)))

    assert customer_card(Customer.objects.get())["likely_reasons"] == []


# --- Promises and handover notes.


def test_promises_owed_are_on_the_card_and_flagged_when_overdue(ingest):
    ingest(miles_chat(occurred_at=minutes_ago(60)))
    customer = customer_by_identifier("phone", MILES_PHONE_NATIONAL)
    case = Case.objects.get(external_id="T-9")
    later = promise_create(customer=customer, kind="follow_up", due_at=timezone.now() + timedelta(days=2))
    soon = promise_create(
        customer=customer, case=case, owner=dave(), kind="callback", due_at=timezone.now() + timedelta(minutes=1)
    )

    card = card_of_caller(now=timezone.now() + timedelta(minutes=30))

    assert [p["id"] for p in card["promises"]] == [str(soon.id), str(later.id)]
    callback = card["promises"][0]
    assert callback["kind"] == "callback" and callback["overdue"] is True
    assert callback["owner"] == {"id": str(dave().id), "name": "Dave"}
    assert callback["case_id"] == str(case.id) and callback["due"] == "29 minutes ago"
    assert card["promises"][1]["overdue"] is False and card["promises"][1]["due"].startswith("in 1 day")
    assert card["greeting"].endswith("We owe you a callback that is late — I'm sorry about that.")


def test_kept_and_cancelled_promises_leave_the_card(ingest):
    ingest(miles_chat(occurred_at=minutes_ago(60)))
    customer = customer_by_identifier("phone", MILES_PHONE_NATIONAL)
    promise = promise_create(customer=customer, kind="callback", due_at=timezone.now() + timedelta(hours=1))
    cancelled = promise_create(customer=customer, kind="follow_up", due_at=timezone.now() + timedelta(hours=1))
    promise_update(promise=cancelled, changes={"status": "cancelled"})
    assert [p["id"] for p in card_of_caller()["promises"]] == [str(promise.id)]

    ingest(miles_call(external_id="callback-1", direction="outbound", occurred_at=iso(timezone.now())))

    assert card_of_caller()["promises"] == []


def test_handover_notes_on_open_cases_are_on_the_card(ingest):
    ingest(
        miles_chat(occurred_at=minutes_ago(60)),
        miles_email_reply(occurred_at=minutes_ago(600)),  # case T-8, resolved
    )
    handover_create(
        case=Case.objects.get(external_id="T-9"), from_agent=priya(), to_agent=dave(), note="Fraud block; card frozen"
    )
    handover_create(case=Case.objects.get(external_id="T-8"), from_agent=priya(), to_agent=dave(), note="Done")

    notes = card_of_caller()["handover_notes"]

    assert len(notes) == 1
    note = notes[0]
    assert note["note"] == "Fraud block; card frozen"
    assert (note["from_agent"], note["to_agent"]) == ("Priya", "Dave")
    assert note["case_id"] == str(Case.objects.get(external_id="T-9").id)
    assert note["case_title"] == "Card payment failed" and note["ago"] == "just now"


# --- Details to confirm and experience.


def test_details_on_record_are_offered_for_confirmation_with_source_and_age(ingest):
    ingest(
        miles_call(
            external_id="crm-old",
            occurred_at=minutes_ago(90 * 24 * 60),
            customer={"phone": MILES_PHONE_NATIONAL, "address": {"line1": "1 Old Rd", "city": "Perth"}},
        ),
        miles_chat(
            occurred_at=minutes_ago(3 * 24 * 60),
            customer={
                "phone": MILES_PHONE_NATIONAL,
                "account_id": "A-1001",
                "date_of_birth": "1980-02-29",
                "address": {"line1": "12 Harbour St", "city": "Leith", "postcode": "EH6 6QW", "country": "GB"},
            },
        ),
    )

    details = {d["field"]: d for d in card_of_caller()["details_to_confirm"]}

    assert details["address"]["value"] == "12 Harbour St, Leith, EH6 6QW, GB"
    assert details["address"]["source"] == "helpdesk" and details["address"]["age"] == "3 days ago"
    assert details["date_of_birth"]["value"] == "1980-02-29"
    assert details["account"]["value"] == "A-1001" and details["account"]["source"] == "helpdesk"
    assert details["phone"]["value"] == "+14155550100" and details["phone"]["verified"] is False
    assert set(details["address"]) >= {"field", "value", "source", "updated_at"}


def test_experience_shows_the_latest_csat_and_the_sentiment_trend(ingest):
    ingest(
        miles_call(external_id="c1", occurred_at=minutes_ago(5000), attributes={"csat": 1}),
        miles_call(external_id="c2", occurred_at=minutes_ago(4000), attributes={"sentiment": "negative"}),
        miles_call(external_id="c3", occurred_at=minutes_ago(3000), attributes={"sentiment": 0.8}),
        miles_call(external_id="c4", occurred_at=minutes_ago(2000), attributes={"csat": 5}),
    )

    experience = customer_card(Customer.objects.get())["experience"]

    assert experience["last_csat"] == 5 and experience["sentiment_trend"] == "improving"
    assert experience["data_points"] == 4


def test_a_falling_csat_reads_as_declining(ingest):
    ingest(
        miles_call(external_id="c1", occurred_at=minutes_ago(500), attributes={"csat": 5}),
        miles_call(external_id="c2", occurred_at=minutes_ago(400), attributes={"csat": 2}),
    )

    experience = customer_card(Customer.objects.get())["experience"]

    assert (experience["last_csat"], experience["sentiment_trend"]) == (2, "declining")


def test_a_customer_we_know_little_about_gets_a_plain_card(ingest):
    ingest(
        {
            "source": "website",
            "external_id": "page-anon",
            "channel": "web",
            "type": "page",
            "occurred_at": minutes_ago(5),
            "customer": {"anonymous_id": "anon-77"},
        }
    )

    card = customer_card(Customer.objects.get(), channel="voice")

    assert card["greeting"].startswith("Welcome back. I see you visited our website 5 minutes ago")
    assert card["tenure"]["text"] == "new customer"
    assert card["customer"]["name"] == "" and card["likely_reasons"] == []
    assert card["experience"] == {
        "last_csat": None,
        "last_csat_at": None,
        "sentiment_trend": "unknown",
        "data_points": 0,
    }
    assert card["promises"] == [] and card["handover_notes"] == [] and card["details_to_confirm"] == []


# --- The card as text.


def test_the_card_as_text_reads_as_sentences(ingest):
    ingest(miles_chat(occurred_at=minutes_ago(12), attributes={"csat": 4}))
    customer = customer_by_identifier("phone", MILES_PHONE_NATIONAL)
    promise_create(customer=customer, owner=dave(), kind="callback", due_at=timezone.now() + timedelta(hours=2))

    text = card_text(card_of_caller())

    assert text.startswith("Miles Reed, customer for 11 years (since 2015-04-02). Identifiers on record: ")
    assert "Suggested greeting: Welcome back, Miles — eleven years with us. I see you chatted" in text
    assert "Last contact: chat inbound, 12 minutes ago with Priya: Card payment failed" in text
    assert "Continue from there: the customer chatted with us 12 minutes ago about card payment failed" in text
    assert "Open case: “Card payment failed” (open, opened " in text
    assert (
        "Promise: callback due in 1 hour, owed by Dave." in text
        or "Promise: callback due in 2 hours, owed by Dave." in text
    )
    assert "Likely reason (85%): Calling as asked in the chat" in text
    assert "Experience: last CSAT 4/5, sentiment unknown." in text
    assert "{" not in text


def test_the_unknown_caller_as_text():
    text = card_text(empty_card({"kind": "phone", "value": "+12125550199"}))

    assert text == (
        "Unknown caller. No customer holds phone +12125550199. Suggested greeting: Hello, and thank you for "
        "contacting us. How can I help you today?\n"
    )


def test_reading_about_declined_payments_is_help_not_a_failed_payment(ingest):
    ingest(miles_web_visit(summary="Viewed Help: why was my card payment declined?", occurred_at=minutes_ago(20)))

    reasons = [r["reason"] for r in card_of_caller()["likely_reasons"]]

    assert reasons == ["Read our help pages: viewed Help: why was my card payment declined?"]
