"""GET /api/v1/card?… and GET /api/v1/customers/{id}/card: the context card (DESIGN.md contract)."""

import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customer_memory.models import Customer
from interactions.models import Interaction
from tests.contract import CARD_CONTRACT_KEYS
from tests.personas import (
    MILES_ACCOUNT,
    MILES_EMAIL,
    MILES_PHONE_E164,
    MILES_PHONE_INTERNATIONAL,
    MILES_PHONE_NATIONAL,
    UNKNOWN_PHONE,
    WITHHELD_CALLER_ID,
    ada_email,
    miles_account_update,
    miles_app_login,
    miles_call,
    miles_chat,
    miles_shop_order,
)

CARD = "/api/v1/card"

pytestmark = pytest.mark.django_db

LIST_KEYS = [
    "open_cases",
    "recent_cases",
    "recent_interactions",
    "promises",
    "handover_notes",
    "likely_reasons",
    "details_to_confirm",
]


def customer_of(source, external_id):
    return Interaction.objects.get(source=source, external_id=external_id).customer


def missing_keys(obj, contract):
    return CARD_CONTRACT_KEYS[contract] - set(obj)


def assert_empty_card(card):
    assert card["known"] is False
    assert missing_keys(card, "card") == set()
    assert card["customer"] is None
    for key in LIST_KEYS:
        assert card[key] == [], key


# --- By identifier


def test_a_caller_is_found_by_a_phone_written_differently_than_ingested(desk, ingest):
    ingest(miles_chat())  # phone sent as "(415) 555-0100"

    response = desk.get(CARD, {"phone": MILES_PHONE_INTERNATIONAL})

    assert response.status_code == 200
    card = response.json()
    assert card["known"] is True
    assert card["customer"]["id"] == str(customer_of("helpdesk", "chat-1").id)
    assert {"kind": "phone", "value": MILES_PHONE_E164, "verified": False} in card["customer"]["identifiers"]


def test_the_contract_example_url_finds_the_caller(desk, ingest):
    ingest(miles_chat())

    # Unencoded, as DESIGN.md writes it: the "+" arrives as a space and must still read as the same number.
    card = desk.get(f"{CARD}?phone={MILES_PHONE_E164}").json()

    assert card["known"] is True
    assert card["customer"]["name"] == "Miles Reed"


def test_email_lookup_ignores_case(desk, ingest):
    ingest(miles_chat())  # email sent as "Miles@Example.com"

    card = desk.get(CARD, {"email": MILES_EMAIL.upper()}).json()

    assert card["known"] is True
    assert card["customer"]["name"] == "Miles Reed"


def test_a_customer_is_found_by_account_id(desk, ingest):
    ingest(miles_app_login())

    card = desk.get(CARD, {"account": MILES_ACCOUNT}).json()

    assert card["known"] is True
    assert card["customer"]["id"] == str(customer_of("app", "app-1").id)


def test_the_first_known_identifier_of_several_answers(desk, ingest):
    ingest(ada_email())

    card = desk.get(CARD, {"phone": UNKNOWN_PHONE, "email": "ADA@example.org"}).json()

    assert card["known"] is True
    assert card["customer"]["name"] == "Ada Byron"


def test_unknown_phone_gets_an_empty_card(desk, ingest):
    ingest(miles_chat())

    response = desk.get(CARD, {"phone": UNKNOWN_PHONE})

    assert response.status_code == 200
    card = response.json()
    assert_empty_card(card)
    assert card["tenure"] is None
    assert card["last_contact"] is None
    assert card["greeting"]


def test_a_withheld_caller_id_gets_an_empty_card_not_an_error(desk, ingest):
    ingest(miles_chat())

    response = desk.get(CARD, {"phone": WITHHELD_CALLER_ID})

    assert response.status_code == 200
    assert_empty_card(response.json())


@pytest.mark.parametrize("parameter", ["phone", "email", "account", "handle"])
def test_a_lookup_value_with_a_nul_character_gets_an_empty_card(desk, parameter):
    response = desk.get(CARD, {parameter: "A-1001\x00"})

    assert response.status_code == 200
    assert response.json()["known"] is False


def test_one_event_with_an_out_of_range_date_does_not_break_the_card(
    desk, helpdesk, ingest, django_capture_on_commit_callbacks
):
    ingest(miles_chat())
    with django_capture_on_commit_callbacks(execute=True):
        # Year 9999 in its own offset, year 10000 in UTC: rejected or clamped, it must not poison the card.
        response = helpdesk.post("/api/v1/events", miles_call(occurred_at="9999-12-31T23:59:59-01:00"), format="json")
    assert response.status_code == 400

    response = desk.get(CARD, {"phone": MILES_PHONE_E164})

    assert response.status_code == 200
    assert response.json()["known"] is True


def test_a_card_lookup_needs_an_identifier(desk):
    response = desk.get(CARD)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("give one identifier to look up: phone, email")


def test_an_empty_identifier_counts_as_none_given(desk):
    assert desk.get(CARD, {"phone": ""}).status_code == 400


# --- By customer id


def test_a_customer_card_is_served_by_id(desk, ingest):
    ingest(miles_chat(), miles_call())
    miles = customer_of("helpdesk", "chat-1")

    response = desk.get(f"/api/v1/customers/{miles.id}/card")

    assert response.status_code == 200
    card = response.json()
    assert card["customer"]["id"] == str(miles.id)
    # The chat and the call from the same number in another format are one customer's timeline.
    assert [i["channel"] for i in card["recent_interactions"]] == ["voice", "chat"]
    assert [c["title"] for c in card["open_cases"]] == ["Card payment failed"]
    assert card["tenure"]["since"] == "2015-04-02"


def test_an_unknown_customer_id_is_a_json_404(desk):
    response = desk.get(f"/api/v1/customers/{uuid.uuid4()}/card")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "no customer with id" in response.json()["detail"]


def test_a_customer_id_that_is_not_a_uuid_is_a_json_404(desk):
    response = desk.get("/api/v1/customers/miles/card")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_a_merged_away_id_answers_with_the_survivors_card(desk, ingest):
    ingest(miles_app_login())
    ingest(miles_shop_order())
    survivor = customer_of("app", "app-1")
    merged = customer_of("shop", "order-1")
    assert merged != survivor
    ingest(miles_account_update())  # account and email together: one person
    merged.refresh_from_db()
    assert merged.merged_into_id == survivor.id

    response = desk.get(f"/api/v1/customers/{merged.id}/card")

    assert response.status_code == 200
    card = response.json()
    assert card["customer"]["id"] == str(survivor.id)
    assert {i["value"] for i in card["customer"]["identifiers"]} == {MILES_ACCOUNT, MILES_EMAIL.lower()}
    assert card["customer"]["name"] == "Miles Reed"


def _card_queries(queries) -> list[str]:
    """The SQL of a request, without the token check (cached in process after a client's first request)."""
    return [q["sql"] for q in queries.captured_queries if '"api_apiclient"' not in q["sql"]]


def test_the_card_costs_the_same_queries_for_a_long_history(desk, ingest):
    ingest(miles_chat())
    cache.clear()  # compare cold reads: nothing cached
    with CaptureQueriesContext(connection) as short:
        desk.get(CARD, {"phone": MILES_PHONE_E164})
    ingest(
        *(
            miles_call(
                external_id=f"call-{n}",
                agent={"external_id": f"ag-{n}", "name": f"Agent {n}"},
                case={"external_id": f"T-{n}", "title": f"Issue {n}", "status": "resolved" if n % 2 else "open"},
            )
            for n in range(10)
        )
    )
    cache.clear()
    with CaptureQueriesContext(connection) as long:
        card = desk.get(CARD, {"phone": MILES_PHONE_E164}).json()

    assert len(card["recent_interactions"]) == 5
    assert len(card["open_cases"]) == 6
    # The identifier's holder, then the card's facts in one query (customer_memory.card_queries).
    assert len(_card_queries(long)) == len(_card_queries(short)) == 2


def test_a_warm_card_read_costs_no_sql_query(desk, ingest):
    ingest(miles_chat())
    desk.get(CARD, {"phone": MILES_PHONE_E164})  # warms the cache (and this process's token check)

    with CaptureQueriesContext(connection) as warm:
        card = desk.get(CARD, {"phone": MILES_PHONE_E164}).json()
        by_id = desk.get(f"/api/v1/customers/{card['customer']['id']}/card").json()

    assert card["known"] is True and by_id["customer"] == card["customer"]
    # The token is checked in process, the card comes from Redis, the access log is buffered in Redis.
    assert warm.captured_queries == []


# --- Who may read


def test_an_ingest_only_client_may_not_read_cards(helpdesk, ingest):
    ingest(miles_chat())

    response = helpdesk.get(CARD, {"phone": MILES_PHONE_NATIONAL})

    assert response.status_code == 403
    assert "'card:read'" in response.json()["detail"]


def test_an_ingest_only_client_may_not_read_a_card_by_id(helpdesk, ingest):
    ingest(miles_chat())

    assert helpdesk.get(f"/api/v1/customers/{Customer.objects.get().id}/card").status_code == 403


def test_a_card_needs_a_token(anonymous):
    response = anonymous.get(CARD, {"phone": MILES_PHONE_NATIONAL})

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


# --- The contract


def test_the_card_keeps_the_contract_keys(desk, ingest):
    ingest(miles_chat(), miles_call())

    card = desk.get(CARD, {"phone": MILES_PHONE_E164}).json()

    assert missing_keys(card, "card") == set()
    assert missing_keys(card["customer"], "customer") == set()
    for identifier in card["customer"]["identifiers"]:
        assert missing_keys(identifier, "identifier") == set()
    assert missing_keys(card["tenure"], "tenure") == set()
    assert card["open_cases"], "miles has an open case"
    for case in card["open_cases"] + card["recent_cases"]:
        assert missing_keys(case, "case") == set()
    assert len(card["recent_interactions"]) == 2
    for interaction in card["recent_interactions"]:
        assert missing_keys(interaction, "interaction") == set()
    chat = next(i for i in card["recent_interactions"] if i["channel"] == "chat")
    assert missing_keys(chat["agent"], "agent") == set()
    assert missing_keys(card["last_contact"], "last_contact") == set()
    for key in LIST_KEYS:
        assert isinstance(card[key], list), key
    assert isinstance(card["greeting"], str)
    assert isinstance(card["tenure"]["years"], int)


def test_the_empty_card_keeps_the_contract_keys(desk):
    card = desk.get(CARD, {"email": "nobody@example.com"}).json()

    assert set(card) >= CARD_CONTRACT_KEYS["card"]
    assert card["known"] is False


def test_an_unencoded_plus_of_a_foreign_number_still_finds_the_caller(desk, ingest):
    ingest(miles_call(customer={"phone": "+44 20 7946 0000", "name": "Olivia Hart"}))

    # Unencoded "+44…" arrives as " 44…": read in the default region (US) it would be another number.
    card = desk.get(f"{CARD}?phone=+442079460000").json()

    assert card["known"] is True and card["customer"]["name"] == "Olivia Hart"
    assert card["lookup"] == {"kind": "phone", "value": " 442079460000"}


def test_an_unknown_api_path_is_a_json_404(desk):
    response = desk.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["detail"] == "no such endpoint: /api/v1/no-such-thing"


# --- As text, for bots


def test_the_card_as_text_for_a_chatbot(desk, ingest):
    ingest(miles_chat())

    response = desk.get(CARD, {"phone": MILES_PHONE_E164, "format": "text"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    text = response.content.decode()
    assert text.startswith("Miles Reed, customer for ")
    assert "Suggested greeting: Welcome back, Miles" in text
    assert "Open case: “Card payment failed”" in text


def test_an_unknown_caller_as_text_is_a_sentence_not_an_error(desk):
    response = desk.get(CARD, {"phone": UNKNOWN_PHONE, "format": "text"})

    assert response.status_code == 200
    assert response.content.decode().startswith("Unknown caller. No customer holds phone ")


def test_a_customer_card_by_id_as_text(desk, ingest):
    ingest(miles_chat())
    customer = customer_of("helpdesk", "chat-1")

    response = desk.get(f"/api/v1/customers/{customer.id}/card", {"format": "text"})

    assert response.status_code == 200 and "Miles Reed" in response.content.decode()


def test_an_error_as_text_is_one_line(desk):
    response = desk.get(f"/api/v1/customers/{uuid.uuid4()}/card", {"format": "text"})

    assert response.status_code == 404
    assert response.content.decode().startswith("no customer with id ")


def test_the_channel_the_customer_is_on_decides_the_continuation(desk, ingest):
    ingest(miles_chat())  # a chat that asked him to call

    on_chat = desk.get(CARD, {"phone": MILES_PHONE_E164, "channel": "chat"})
    bad = desk.get(CARD, {"phone": MILES_PHONE_E164, "channel": "pigeon"})

    assert on_chat.json()["last_contact"]["continuation"] is None
    assert bad.status_code == 400 and bad.json()["detail"].startswith("channel: 'pigeon' is not a channel")
