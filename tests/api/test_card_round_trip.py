"""The warm card request's one Redis round trip: throttle count, card facts and access-log entry together."""

import threading

import pytest
import redis

from api import access_log
from api.models import AccessLog
from customer_memory.card_cache import agents_changed
from tests.personas import MILES_PHONE_E164, miles_chat

pytestmark = pytest.mark.django_db

CARD = "/api/v1/card"
_DONE = "round-trip-test-done"


def _commands_during(settings, action) -> list[str]:
    """The commands Redis received on the test database while `action` ran (MONITOR, filtered by db)."""
    url = redis.connection.parse_url(settings.REDIS_URL)
    server = redis.Redis.from_url(settings.REDIS_URL)
    seen, ready = [], threading.Event()

    def watch():
        with server.monitor() as monitor:
            ready.set()
            for command in monitor.listen():
                if _DONE in command["command"]:
                    return
                if str(command["db"]) == str(url.get("db", 0)):
                    seen.append(command["command"].split())

    watcher = threading.Thread(target=watch)
    watcher.start()
    ready.wait(5)
    server.ping()  # the monitor is attached once its own reply came back
    action()
    server.echo(_DONE)
    watcher.join(10)
    # SELECT, PING, ECHO: this function's own connection.
    return [c[0].upper() for c in seen if c and c[0].upper() not in ("SELECT", "PING", "ECHO")]


def test_a_warm_card_read_is_one_redis_round_trip(desk, ingest, settings):
    ingest(miles_chat())
    desk.get(CARD, {"phone": MILES_PHONE_E164})  # warms the card and this process's token check

    answers = []
    commands = _commands_during(settings, lambda: answers.append(desk.get(CARD, {"phone": MILES_PHONE_E164})))

    assert answers[0].status_code == 200 and answers[0].json()["known"] is True
    # One EVALSHA from the web process; MONITOR lists what the script runs inside it after it.
    assert commands == ["EVALSHA", "INCR", "EXPIRE", "GET", "GET", "GET", "GET", "RPUSH"]


def test_a_warm_read_of_facts_gone_stale_is_logged_once(desk, ingest):
    ingest(miles_chat())
    desk.get(CARD, {"phone": MILES_PHONE_E164})
    agents_changed()  # every cached card is stale now: the script found facts, appended, then they failed

    second = desk.get(CARD, {"phone": MILES_PHONE_E164})

    assert second.json()["known"] is True
    assert access_log.flush() == 2
    assert AccessLog.objects.count() == 2


def test_warm_reads_that_fill_a_batch_have_it_written(desk, ingest, settings):
    settings.ACCESS_LOG_BATCH = 2
    ingest(miles_chat())
    customer_id = desk.get(CARD, {"phone": MILES_PHONE_E164}).json()["customer"]["id"]
    assert not AccessLog.objects.exists()

    desk.get(f"/api/v1/customers/{customer_id}/card")  # warm, by id: the second entry fills the batch

    assert AccessLog.objects.filter(customer_id=customer_id).count() == 2


def test_an_unparseable_lookup_is_still_counted(desk, settings):
    settings.API_THROTTLE_RATE = "1/min"

    answers = [desk.get(CARD, {"phone": "anonymous"}) for _ in range(2)]

    assert [a.status_code for a in answers] == [200, 429]


def test_the_api_runs_without_sessions_and_the_desk_with_them(desk, admin_client):
    api_answer = desk.get(CARD, {"phone": MILES_PHONE_E164})
    desk_answer = admin_client.get("/desk/")

    assert not hasattr(api_answer.wsgi_request, "session")
    assert hasattr(desk_answer.wsgi_request, "session") and desk_answer.wsgi_request.user.is_staff
