"""POST /api/v1/events and the event status endpoints."""

import uuid

import pytest

from channels_ingest.models import RawEvent
from interactions.models import Interaction
from tests.personas import ada_email, miles_call, miles_chat

EVENTS = "/api/v1/events"

pytestmark = pytest.mark.django_db


def post_events(client, body):
    return client.post(EVENTS, body, format="json")


# --- Accepting


def test_a_single_event_object_is_accepted_with_its_id(helpdesk):
    response = post_events(helpdesk, miles_chat())

    assert response.status_code == 202
    [answer] = response.json()
    assert answer["duplicate"] is False
    assert RawEvent.objects.get(source="helpdesk", external_id="chat-1").id == uuid.UUID(answer["id"])


def test_a_list_of_events_is_answered_in_order(helpdesk):
    response = post_events(helpdesk, [miles_chat(), ada_email()])

    assert response.status_code == 202
    answers = response.json()
    assert [a["duplicate"] for a in answers] == [False, False]
    stored = {str(e.id): e.external_id for e in RawEvent.objects.all()}
    assert [stored[a["id"]] for a in answers] == ["chat-1", "mail-1"]


def test_a_batch_is_stored_in_one_sql_statement_when_nothing_is_suppressed(helpdesk, django_assert_num_queries):
    # The webhook's hot path: the suppression check rides in the INSERT, and no BEGIN/COMMIT of its own.
    post_events(helpdesk, miles_chat(external_id="warm-up"))  # the token is read once, then cached

    with django_assert_num_queries(1):
        response = post_events(helpdesk, [miles_chat(), ada_email()])

    assert response.status_code == 202
    assert RawEvent.objects.count() == 3


def test_an_accepted_event_is_pending_until_a_worker_processes_it(helpdesk):
    # No on-commit callbacks run here, so no worker was woken.
    post_events(helpdesk, miles_chat())

    event = RawEvent.objects.get()
    assert event.status == "pending"
    assert Interaction.objects.count() == 0


def test_sending_the_same_event_twice_stores_and_counts_it_once(helpdesk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = post_events(helpdesk, miles_chat()).json()
    with django_capture_on_commit_callbacks(execute=True):
        second = post_events(helpdesk, miles_chat()).json()

    assert first[0]["duplicate"] is False
    assert second == [{"id": first[0]["id"], "duplicate": True}]
    assert RawEvent.objects.count() == 1
    assert Interaction.objects.count() == 1


def test_a_repeat_inside_one_batch_is_stored_once_and_answered_as_duplicate(helpdesk):
    response = post_events(helpdesk, [miles_chat(), miles_call(), miles_chat()])

    assert response.status_code == 202
    answers = response.json()
    assert [a["duplicate"] for a in answers] == [False, False, True]
    assert answers[2]["id"] == answers[0]["id"]
    assert RawEvent.objects.count() == 2


def test_the_same_external_id_from_two_sources_is_two_events(helpdesk):
    answers = post_events(helpdesk, [miles_chat(external_id="x-1"), miles_call(external_id="x-1")]).json()

    assert answers[0]["id"] != answers[1]["id"]
    assert RawEvent.objects.count() == 2


# --- Rejecting


def test_malformed_json_is_rejected_naming_the_parse_error(helpdesk):
    response = helpdesk.post(EVENTS, '{"source": "helpdesk", ', content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
    assert RawEvent.objects.count() == 0


@pytest.mark.parametrize("field", ["occurred_at", "source", "external_id", "channel"])
def test_a_missing_required_field_is_rejected_naming_it(helpdesk, field):
    event = miles_chat()
    del event[field]

    response = post_events(helpdesk, event)

    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{field}: required")
    assert RawEvent.objects.count() == 0


def test_an_event_without_any_customer_identifier_is_rejected(helpdesk):
    response = post_events(helpdesk, miles_chat(customer={"name": "Miles Reed"}))

    assert response.status_code == 400
    assert response.json()["detail"].startswith("customer: needs at least one identifier")


def test_an_event_without_a_customer_is_rejected(helpdesk):
    event = miles_chat()
    del event["customer"]

    response = post_events(helpdesk, event)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("customer: required")


def test_an_unparseable_occurred_at_is_rejected_naming_it(helpdesk):
    response = post_events(helpdesk, miles_chat(occurred_at="yesterday"))

    assert response.status_code == 400
    assert response.json()["detail"].startswith("occurred_at: 'yesterday' is not an ISO 8601 date-time")


@pytest.mark.parametrize("occurred_at", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:30:00+01:00"])
def test_an_occurred_at_beyond_the_calendar_in_utc_is_rejected_naming_it(helpdesk, occurred_at):
    # Valid ISO 8601, but in UTC it is year 10000 or 1 BC: PostgreSQL stores it, Python cannot read it back.
    response = post_events(helpdesk, miles_chat(occurred_at=occurred_at))

    assert response.status_code == 400
    assert response.json()["detail"].startswith("occurred_at:")
    assert RawEvent.objects.count() == 0


@pytest.mark.parametrize(
    "overrides",
    [{"summary": "card declined\u0000"}, {"attributes": {"transcript": "hello\u0000"}}],
    ids=["summary", "attributes"],
)
def test_a_nul_character_is_a_400_not_a_server_error(helpdesk, overrides):
    # Chat and email systems do send NUL; PostgreSQL text and jsonb cannot hold it.
    response = post_events(helpdesk, miles_chat(**overrides))

    assert response.status_code == 400
    assert response.json()["detail"]
    assert RawEvent.objects.count() == 0


def test_an_unknown_channel_is_rejected_naming_the_channel(helpdesk):
    response = post_events(helpdesk, miles_chat(channel="fax"))

    assert response.status_code == 400
    assert response.json()["detail"].startswith("channel: 'fax' is not a channel")


def test_a_phone_that_is_not_a_number_is_rejected_naming_the_field(helpdesk):
    response = post_events(helpdesk, miles_call(customer={"phone": "call me maybe"}))

    assert response.status_code == 400
    assert response.json()["detail"].startswith("customer.phone:")


def test_one_bad_event_in_a_list_rejects_the_whole_list_naming_its_index(helpdesk):
    response = post_events(helpdesk, [miles_chat(), miles_call(channel="fax"), ada_email()])

    assert response.status_code == 400
    body = response.json()
    assert body["detail"].startswith("event 1: channel: 'fax'")
    assert [error["index"] for error in body["errors"]] == [1]
    assert RawEvent.objects.count() == 0


def test_an_empty_list_is_rejected(helpdesk):
    response = post_events(helpdesk, [])

    assert response.status_code == 400
    assert "empty list" in response.json()["detail"]


def test_a_batch_over_the_limit_is_rejected_before_anything_is_stored(helpdesk, settings):
    settings.INGEST_MAX_BATCH = 2

    response = post_events(helpdesk, [miles_chat(), miles_call(), ada_email()])

    assert response.status_code == 400
    assert response.json()["detail"] == "3 events in one request; at most 2"
    assert RawEvent.objects.count() == 0


def test_a_list_of_non_objects_is_rejected(helpdesk):
    response = post_events(helpdesk, ["not an event"])

    assert response.status_code == 400
    assert response.json()["detail"] == "an event must be a JSON object, not str"


# --- Who may send


def test_a_caller_without_a_token_is_asked_for_a_bearer_token(anonymous):
    response = post_events(anonymous, miles_chat())

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert RawEvent.objects.count() == 0


def test_a_token_that_was_never_issued_is_refused(stranger):
    response = post_events(stranger, miles_chat())

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_bearer_header_without_a_token_is_refused(anonymous):
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer")

    response = post_events(anonymous, miles_chat())

    assert response.status_code == 401
    assert "expected 'Bearer <token>'" in response.json()["detail"]


def test_a_revoked_client_is_refused(revoked_helpdesk):
    response = post_events(revoked_helpdesk, miles_chat())

    assert response.status_code == 401
    assert RawEvent.objects.count() == 0


def test_a_client_without_the_ingest_scope_may_not_send_events(desk):
    response = post_events(desk, miles_chat())

    assert response.status_code == 403
    assert "'ingest'" in response.json()["detail"]
    assert RawEvent.objects.count() == 0


def test_a_client_without_the_ingest_scope_may_not_read_event_status(desk, helpdesk):
    [answer] = post_events(helpdesk, miles_chat()).json()

    assert desk.get(f"{EVENTS}/{answer['id']}").status_code == 403


# --- Processing state


def test_an_ingested_event_shows_processed_with_its_customer_and_interaction(helpdesk, ingest):
    [accepted] = ingest(miles_chat())

    response = helpdesk.get(f"{EVENTS}/{accepted.id}")

    assert response.status_code == 200
    body = response.json()
    interaction = Interaction.objects.get(source="helpdesk", external_id="chat-1")
    assert body["status"] == "processed"
    assert body["error"] == ""
    assert body["interaction_id"] == str(interaction.id)
    assert body["customer_id"] == str(interaction.customer_id)


def test_an_event_is_found_by_its_source_and_external_id(helpdesk, ingest):
    [accepted] = ingest(miles_chat())

    response = helpdesk.get(f"{EVENTS}/lookup", {"source": "helpdesk", "external_id": "chat-1"})

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(accepted.id)
    assert body["status"] == "processed"
    assert body["customer_id"] is not None
    assert body["interaction_id"] is not None


def test_a_failed_event_shows_its_error(helpdesk, failed_event):
    response = helpdesk.get(f"{EVENTS}/{failed_event.id}")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "failed"
    assert body["error"].startswith("customer.phone: '020 7946 0000' is not a possible phone number")
    assert body["customer_id"] is None
    assert body["interaction_id"] is None


def test_an_unknown_event_id_is_not_found(helpdesk):
    response = helpdesk.get(f"{EVENTS}/{uuid.uuid4()}")

    assert response.status_code == 404
    assert "no event with id" in response.json()["detail"]


def test_an_event_id_that_is_not_a_uuid_is_not_found(helpdesk):
    assert helpdesk.get(f"{EVENTS}/not-a-uuid").status_code == 404


def test_an_unknown_event_lookup_is_not_found(helpdesk):
    response = helpdesk.get(f"{EVENTS}/lookup", {"source": "helpdesk", "external_id": "never-sent"})

    assert response.status_code == 404


@pytest.mark.parametrize("query", [{"source": "helpdesk"}, {"external_id": "chat-1"}, {}])
def test_an_event_lookup_needs_both_source_and_external_id(helpdesk, query):
    response = helpdesk.get(f"{EVENTS}/lookup", query)

    assert response.status_code == 400
    assert response.json()["detail"] == "give both source and external_id"


def test_a_body_over_the_size_cap_is_a_413_naming_the_cap(helpdesk, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    batch = [miles_chat(external_id=f"big-{n}") for n in range(20)]

    response = helpdesk.post("/api/v1/events", batch, format="json")

    assert response.status_code == 413
    assert "larger than 2000 bytes" in response.json()["detail"]
    assert RawEvent.objects.count() == 0
