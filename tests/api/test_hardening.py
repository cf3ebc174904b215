"""Hostile input gets a 4xx naming the problem, and nothing is stored."""

import json

import pytest

from channels_ingest.models import RawEvent
from tests.personas import miles_chat

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events"


def _post_raw(client, body: bytes):
    return client.generic("POST", EVENTS, body, content_type="application/json")


def test_json_nested_thousands_deep_is_refused(helpdesk):
    response = _post_raw(helpdesk, b"[" * 100_000 + b"]" * 100_000)

    assert response.status_code == 400
    assert response.json()["detail"] == "JSON nested deeper than 32 levels"
    assert RawEvent.objects.count() == 0


def test_json_nested_past_the_limit_inside_an_event_is_refused(helpdesk):
    deep = {}
    for _ in range(40):
        deep = {"x": deep}
    response = helpdesk.post(EVENTS, miles_chat(attributes=deep), format="json")

    assert response.status_code == 400 and "nested deeper than 32" in response.json()["detail"]
    assert RawEvent.objects.count() == 0


def test_a_body_that_is_not_utf8_is_refused(helpdesk):
    response = _post_raw(helpdesk, b'{"source": "\xff\xfe helpdesk"}')

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
    assert RawEvent.objects.count() == 0


def test_a_lone_surrogate_escape_is_refused_by_name(helpdesk):
    body = json.dumps(miles_chat(summary="broken \ud800 text")).encode()

    response = _post_raw(helpdesk, body)

    assert response.status_code == 400
    assert response.json()["detail"] == "summary: invalid Unicode (a lone surrogate escape such as \\ud800)"
    assert RawEvent.objects.count() == 0


def test_a_huge_body_is_refused_with_413(helpdesk, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = helpdesk.post(EVENTS, [miles_chat(external_id=f"c-{n}") for n in range(100)], format="json")

    assert response.status_code == 413
    assert RawEvent.objects.count() == 0


@pytest.mark.parametrize(
    "query",
    [
        {"channel": "chat' OR '1'='1"},
        {"direction": "inbound; DROP TABLE interactions_interaction;--"},
        {"since": "2026-01-01' OR 1=1 --"},
        {"case": "1 UNION SELECT password FROM auth_user"},
    ],
)
def test_filter_values_that_try_injection_get_400(desk, ingest, query):
    ingest(miles_chat())
    customer_id = RawEvent.objects.get().customer_id

    response = desk.get(f"/api/v1/customers/{customer_id}/timeline", query)

    assert response.status_code == 400
    assert response.json()["detail"].startswith(next(iter(query)))


@pytest.mark.parametrize("query", [{"source": "pbx\x00", "external_id": "x"}, {"source": "pbx", "external_id": "\x00"}])
def test_a_lookup_value_with_a_nul_character_is_a_400_not_a_500(helpdesk, query):
    response = helpdesk.get(f"{EVENTS}/lookup", query)

    assert response.status_code == 400
    assert "cannot contain NUL" in response.json()["detail"]
