"""Per-client request budgets: counted in Redis, answered with 429, Retry-After and the reason."""

import pytest
import redis
from rest_framework.test import APIClient

from api.services import api_client_create
from tests.personas import miles_chat

pytestmark = pytest.mark.django_db

CARD = "/api/v1/card"


def _client(name, scopes):
    _, token = api_client_create(name=name, scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client, token


def test_a_client_over_its_budget_gets_429_with_retry_after_and_the_reason(settings):
    settings.API_THROTTLE_RATE = "3/min"
    desk, _ = _client("desk-throttled", ["card:read"])

    answers = [desk.get(CARD, {"phone": "+14155550100"}) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert 1 <= int(answers[3]["Retry-After"]) <= 60
    assert (
        "rate limit of 3 read requests per minute exceeded for API client 'desk-throttled'"
        in answers[3].json()["detail"]
    )


def test_one_clients_burst_does_not_throttle_another(settings):
    settings.API_THROTTLE_RATE = "2/min"
    noisy, _ = _client("noisy", ["card:read"])
    quiet, _ = _client("quiet", ["card:read"])
    for _ in range(3):
        noisy.get(CARD, {"phone": "+14155550100"})

    assert noisy.get(CARD, {"phone": "+14155550100"}).status_code == 429
    assert quiet.get(CARD, {"phone": "+14155550100"}).status_code == 200


def test_ingest_counts_apart_from_reads(settings):
    settings.API_THROTTLE_RATE = "1/min"
    settings.API_THROTTLE_RATE_INGEST = "100/min"
    both, _ = _client("both", ["card:read", "ingest"])
    both.get(CARD, {"phone": "+14155550100"})

    assert both.get(CARD, {"phone": "+14155550100"}).status_code == 429
    assert both.post("/api/v1/events", miles_chat(), format="json").status_code == 202


def test_the_count_lives_in_redis_so_every_process_shares_it(settings):
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    settings.API_THROTTLE_RATE = "2/min"
    first, token = _client("shared", ["card:read"])
    second = APIClient()  # another process with the same token: a new client object, the same budget
    second.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    assert first.get(CARD, {"phone": "+14155550100"}).status_code == 200
    assert second.get(CARD, {"phone": "+14155550100"}).status_code == 200
    assert second.get(CARD, {"phone": "+14155550100"}).status_code == 429
    keys = redis.Redis.from_url(settings.REDIS_URL).keys("*throttle:*:read:*")
    assert keys, "the throttle counter is not in Redis"


def test_an_unauthenticated_caller_gets_401_not_a_throttle(settings, anonymous):
    settings.API_THROTTLE_RATE = "1/min"
    assert [anonymous.get(CARD).status_code for _ in range(3)] == [401, 401, 401]


def test_a_throttled_card_read_is_not_logged(settings, ingest):
    from api import access_log
    from api.models import AccessLog

    ingest(miles_chat())
    settings.API_THROTTLE_RATE = "1/min"
    desk, _ = _client("desk-once", ["card:read"])

    answers = [desk.get(CARD, {"phone": "+14155550100"}) for _ in range(2)]
    access_log.flush()

    assert [a.status_code for a in answers] == [200, 429]
    assert answers[0].json()["known"] is True
    assert AccessLog.objects.count() == 1
