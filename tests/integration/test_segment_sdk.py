"""Interop proof: Segment's own Python SDK, with this service as its host, lands on the customer's timeline."""

import time

import pytest
import requests
from segment.analytics import Client

from api.services import api_client_create
from channels_ingest.models import RawEvent
from customer_memory.models import Customer, Identifier, Trait

pytestmark = pytest.mark.integration


def _poll(fetch, until, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if until(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def test_the_segment_python_sdk_identify_track_and_page_reach_the_timeline(live_service, celery_worker_process):
    _, write_key = api_client_create(name="website", scopes=["ingest"])
    _, desk_token = api_client_create(name="desk", scopes=["card:read", "timeline:read"])
    errors = []
    analytics = Client(
        write_key,
        host=f"{live_service}/api/v1/ingest/segment",
        sync_mode=True,  # send each call at once and raise on an error answer, so a refusal fails the test
        on_error=lambda error, batch: errors.append(error),
    )

    analytics.identify(
        "user-1001",
        {"email": "Miles@Example.com", "firstName": "Miles", "lastName": "Reed", "createdAt": "2015-04-02T10:00:00Z"},
        anonymous_id="anon-77",
    )
    analytics.track("user-1001", "Card Payment Failed", {"amount": 42.5, "currency": "GBP"})
    analytics.page("user-1001", "Help", "Why was my card declined?", {"url": "https://example.com/help/declined"})
    analytics.flush()
    assert errors == []

    _poll(lambda: RawEvent.objects.filter(status="pending").count(), lambda pending: pending == 0)
    assert set(RawEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert RawEvent.objects.filter(source="website").count() == 3
    customer = Customer.objects.get()
    assert set(Identifier.objects.values_list("kind", "value")) == {
        ("user_id", "user-1001"),
        ("anonymous_id", "anon-77"),
        ("email", "miles@example.com"),
    }
    assert Trait.objects.get(name="customer_since").value == "2015-04-02"

    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {desk_token}"
    card = http.get(f"{live_service}/api/v1/card", params={"email": "miles@example.com"}).json()
    assert card["customer"]["id"] == str(customer.id)
    assert card["customer"]["name"] == "Miles Reed"
    assert card["tenure"]["since"] == "2015-04-02"
    timeline = http.get(f"{live_service}/api/v1/customers/{customer.id}/timeline").json()["results"]
    # identify only says who he is: the timeline holds the track and the page view, newest first.
    assert [(i["channel"], i["type"], i["summary"]) for i in timeline] == [
        ("web", "page", "Viewed page: Why was my card declined?"),
        ("web", "track", "Card Payment Failed"),
    ]
    assert timeline[1]["attributes"]["properties"] == {"amount": 42.5, "currency": "GBP"}


def test_an_sdk_retry_of_the_same_batch_is_stored_once(live_service, celery_worker_process):
    _, write_key = api_client_create(name="website", scopes=["ingest"])
    analytics = Client(write_key, host=f"{live_service}/api/v1/ingest/segment", sync_mode=True)
    analytics.track("user-1001", "Signed In", message_id="msg-retried")
    analytics.track("user-1001", "Signed In", message_id="msg-retried")

    assert RawEvent.objects.filter(source="website").count() == 1
