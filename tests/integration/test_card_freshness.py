"""The card cache across processes: gunicorn serves cards from Redis, a real worker links events, and a
card read after the worker committed an event never shows the state before it."""

import time

import pytest
import requests

from api.services import api_client_create
from tests.personas import MILES_PHONE_E164, miles_call, miles_chat

pytestmark = pytest.mark.integration


def _processed(http, url, accepted) -> bool:
    event_id = accepted.json()[0]["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if http.get(f"{url}/api/v1/events/{event_id}").json()["status"] == "processed":
            return True
        time.sleep(0.2)
    return False


def test_a_card_read_after_the_worker_commits_an_event_shows_it(live_service, celery_worker_process):
    _, token = api_client_create(name="freshness", scopes=["ingest", "card:read"])
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    card_url = f"{live_service}/api/v1/card"

    assert _processed(http, live_service, http.post(f"{live_service}/api/v1/events", json=miles_chat()))
    first = http.get(card_url, params={"phone": MILES_PHONE_E164}).json()
    assert first["last_contact"]["channel"] == "chat"
    assert http.get(card_url, params={"phone": MILES_PHONE_E164}).json() == first  # served from the cache

    assert _processed(http, live_service, http.post(f"{live_service}/api/v1/events", json=miles_call()))

    # No polling here: the worker's commit has invalidated the cached card before the event showed processed.
    after = http.get(card_url, params={"phone": MILES_PHONE_E164}).json()
    assert after["last_contact"]["channel"] == "voice"
    assert [i["channel"] for i in after["recent_interactions"]] == ["voice", "chat"]
