"""Through a real gunicorn: the throttle's budget is shared by its processes, and a dead database is a 503."""

import pytest
import requests

from api.services import api_client_create
from tests.integration.conftest import _free_port, live_server_process
from tests.personas import miles_chat

pytestmark = pytest.mark.integration


def test_two_gunicorn_workers_share_one_budget(service_env, tmp_path):
    """Concurrent requests spread over both worker processes; against a budget of 4, exactly 4 pass."""
    from concurrent.futures import ThreadPoolExecutor

    service_env["API_THROTTLE_RATE"] = "4/min"
    _, token = api_client_create(name="gunicorn-throttle", scopes=["card:read"])
    with live_server_process(service_env, tmp_path) as url:

        def call(_):
            headers = {"Authorization": f"Bearer {token}"}
            return requests.get(f"{url}/api/v1/card", params={"phone": "+14155550100"}, headers=headers).status_code

        with ThreadPoolExecutor(4) as pool:
            codes = list(pool.map(call, range(10)))
    assert sorted(codes) == [200] * 4 + [429] * 6


def test_ingest_answers_503_with_retry_after_while_the_database_is_unreachable(service_env, tmp_path):
    """The app pointed at a port where no PostgreSQL listens: senders are told to retry, not shown a 500."""
    _, token = api_client_create(name="dead-db", scopes=["ingest"])
    service_env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{_free_port()}/nowhere"
    with live_server_process(service_env, tmp_path) as url:
        answer = requests.post(
            f"{url}/api/v1/events", json=miles_chat(), headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "10"
    assert answer.json() == {"detail": "the database is unavailable; nothing was stored, retry later"}


def test_the_card_answers_from_cache_while_the_database_is_unreachable(service_env, database_link, tmp_path):
    """A desk keeps greeting callers through a database outage (cards it read before), while ingest says
    503 so that senders retry; once the database is back everything works again."""
    from channels_ingest.services import canonical_events_accept

    # Every request checks its token in the database, so the card answered during the cut rests on the
    # outage grace (API_TOKEN_OUTAGE_SECONDS), not on a token cached a moment ago.
    service_env["API_TOKEN_CACHE_SECONDS"] = "0"
    canonical_events_accept(payloads=[miles_chat()])
    _, token = api_client_create(name="desk-outage", scopes=["card:read", "ingest"])
    headers = {"Authorization": f"Bearer {token}"}
    with live_server_process(service_env, tmp_path, workers=1) as url:
        card = f"{url}/api/v1/card"
        before = requests.get(card, params={"phone": "(415) 555-0100"}, headers=headers, timeout=10)
        assert before.status_code == 200 and before.json()["known"]

        database_link.cut()
        during = requests.get(card, params={"phone": "(415) 555-0100"}, headers=headers, timeout=10)
        ingest = requests.post(f"{url}/api/v1/events", json=miles_chat("chat-2"), headers=headers, timeout=10)
        unchecked = requests.get(
            card, params={"phone": "(415) 555-0100"}, headers={"Authorization": "Bearer cm_never-seen"}, timeout=10
        )

        database_link.restore()
        after = requests.post(f"{url}/api/v1/events", json=miles_chat("chat-2"), headers=headers, timeout=10)

    assert during.status_code == 200, during.text
    assert during.json()["customer"] == before.json()["customer"]
    assert during.json()["last_contact"]["summary"] == before.json()["last_contact"]["summary"]
    assert ingest.status_code == 503 and ingest.headers["Retry-After"] == "10"
    assert unchecked.status_code == 503  # a token this process never checked cannot be checked now
    assert after.status_code == 202, after.text
