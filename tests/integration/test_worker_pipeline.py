"""Through HTTP, a real Celery worker on Redis, and PostgreSQL: an event of each kind reaches the card."""

import time

import pytest
import requests

from api.services import api_client_create
from channels_ingest.models import RawEvent
from customer_memory.models import Customer
from interactions.models import Interaction
from tests.personas import MILES_PHONE_INTERNATIONAL, MILES_PHONE_NATIONAL, miles_call, miles_chat

pytestmark = pytest.mark.integration


def _poll(fetch, until, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if until(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def test_a_chat_then_a_call_from_one_number_reach_one_card_through_a_real_worker(live_service, celery_worker_process):
    _, token = api_client_create(name="integration", scopes=["ingest", "card:read", "timeline:read"])
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    chat = miles_chat(customer={"phone": MILES_PHONE_NATIONAL, "name": "Miles Reed"})
    call = miles_call(customer={"phone": MILES_PHONE_INTERNATIONAL})

    answers = [http.post(f"{live_service}/api/v1/events", json=event) for event in (chat, call)]
    assert [a.status_code for a in answers] == [202, 202]
    resent = http.post(f"{live_service}/api/v1/events", json=chat)
    assert resent.status_code == 202
    assert resent.json() == [{"id": answers[0].json()[0]["id"], "duplicate": True}]

    call_id = answers[1].json()[0]["id"]
    status = _poll(
        lambda: http.get(f"{live_service}/api/v1/events/{call_id}").json(),
        lambda body: body["status"] != "pending",
    )
    assert status["status"] == "processed", status
    card = _poll(
        lambda: http.get(f"{live_service}/api/v1/card", params={"phone": "+14155550100"}).json(),
        lambda body: len(body.get("recent_interactions", [])) >= 2,
    )

    assert card["known"] is True
    assert card["customer"]["name"] == "Miles Reed"
    assert [i["channel"] for i in card["recent_interactions"]] == ["voice", "chat"]
    assert card["last_contact"]["channel"] == "voice"
    assert card["customer"]["id"] == status["customer_id"]
    assert Customer.objects.count() == 1
    assert RawEvent.objects.count() == 2 and Interaction.objects.count() == 2

    timeline = http.get(f"{live_service}/api/v1/customers/{status['customer_id']}/timeline").json()
    assert [i["channel"] for i in timeline["results"]] == ["voice", "chat"]


def test_a_burst_of_events_for_many_customers_is_processed_exactly_once(live_service, celery_worker_process):
    """Two worker children take a batch of 200 events (with every tenth resent) and link them all."""
    _, token = api_client_create(name="burst", scopes=["ingest", "card:read"])
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    events = [
        miles_call(external_id=f"burst-{n}", customer={"phone": f"+1415555{n % 50:04d}"}, summary=f"call {n}")
        for n in range(200)
    ]
    assert http.post(f"{live_service}/api/v1/events", json=events).status_code == 202
    assert http.post(f"{live_service}/api/v1/events", json=events[::10]).status_code == 202

    _poll(lambda: RawEvent.objects.filter(status="pending").count(), lambda pending: pending == 0)

    assert RawEvent.objects.filter(status="processed").count() == 200
    assert Interaction.objects.count() == 200
    assert Customer.objects.count() == 50
