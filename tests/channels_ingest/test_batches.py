"""Events are processed in batches: one Celery message per batch, normalized once, each linked on its own so
that one bad event neither blocks nor fails its neighbours."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_ingest.choices import RawEventFormat, RawEventStatus
from channels_ingest.models import RawEvent
from channels_ingest.services import (
    IncomingEvent,
    canonical_events_accept,
    raw_event_accept,
    raw_events_process,
)
from customer_memory.models import Customer
from interactions.models import Interaction
from tests.personas import ada_email, miles_call, miles_chat

pytestmark = pytest.mark.django_db


def _accepted_ids(*payloads):
    # Without running the on-commit wake-up: the tests below run the batch themselves.
    return [str(accepted.id) for accepted in canonical_events_accept(payloads=list(payloads))]


def test_a_canonical_event_is_stored_normalized_so_workers_do_not_normalize_it_again():
    [raw_event_id] = _accepted_ids(miles_chat())

    raw_event = RawEvent.objects.get(id=raw_event_id)
    assert raw_event.normalized["external_id"] == "chat-1"
    assert raw_event.normalized["identifiers"][0]["kind"] == "phone"
    assert raw_event.attempts == 0 and raw_event.status == RawEventStatus.PENDING


def test_one_batch_links_every_event_in_the_order_accepted():
    ids = _accepted_ids(miles_chat(), miles_call(), ada_email())

    result = raw_events_process(raw_event_ids=list(reversed(ids)) + ids)  # a repeat in the message is harmless

    assert (result.linked, result.failed, result.errors) == (3, 0, 0)
    assert set(RawEvent.objects.values_list("status", flat=True)) == {RawEventStatus.PROCESSED}
    assert Interaction.objects.count() == 3
    assert Customer.objects.count() == 2  # miles (chat and call) and ada


def test_one_bad_event_is_recorded_and_does_not_block_its_neighbours(caplog):
    ids = _accepted_ids(miles_chat(), miles_call(), ada_email())
    RawEvent.objects.filter(id=ids[1]).update(normalized={"source": "pbx"})  # unreadable by linking

    result = raw_events_process(raw_event_ids=ids)

    assert (result.linked, result.errors) == (2, 1)
    bad = RawEvent.objects.get(id=ids[1])
    assert bad.status == RawEventStatus.PENDING and bad.attempts == 1  # left for the sweeper, then dead
    assert bad.error.startswith("linking failed: KeyError")
    assert set(RawEvent.objects.exclude(id=ids[1]).values_list("status", flat=True)) == {RawEventStatus.PROCESSED}
    assert f"linking raw event {ids[1]} failed" in caplog.text


def test_channel_payloads_are_normalized_together_and_a_bad_one_is_kept_failed():
    accepted = raw_event_accept(
        events=[
            IncomingEvent("helpdesk", "raw-1", RawEventFormat.CANONICAL, miles_chat()),
            IncomingEvent("helpdesk", "raw-2", RawEventFormat.CANONICAL, miles_chat(channel="fax")),
        ]
    )
    ids = [str(a.id) for a in accepted]

    result = raw_events_process(raw_event_ids=ids)

    assert (result.linked, result.failed) == (1, 1)
    assert RawEvent.objects.get(id=ids[0]).status == RawEventStatus.PROCESSED
    failed = RawEvent.objects.get(id=ids[1])
    assert failed.status == RawEventStatus.FAILED and failed.error.startswith("channel")


def test_a_batch_run_again_changes_nothing_in_one_query():
    ids = _accepted_ids(miles_chat(), miles_call(), ada_email())
    raw_events_process(raw_event_ids=ids)
    before = list(RawEvent.objects.order_by("id").values()), Interaction.objects.count(), Customer.objects.count()

    with CaptureQueriesContext(connection) as queries:
        result = raw_events_process(raw_event_ids=ids)

    assert (result.linked, result.failed, result.errors) == (0, 0, 0)
    assert (list(RawEvent.objects.order_by("id").values()), Interaction.objects.count(), Customer.objects.count()) == (
        before
    )
    assert len(queries) == 1  # the batch's pending rows: none


def test_an_accepted_batch_wakes_workers_with_one_message_per_ingest_task_batch(
    redis_broker, settings, django_capture_on_commit_callbacks
):
    from channels_ingest.services import broker_backlog

    settings.INGEST_TASK_BATCH = 2
    with django_capture_on_commit_callbacks(execute=True):
        canonical_events_accept(payloads=[miles_chat(external_id=f"chat-{n}") for n in range(5)])

    assert broker_backlog() == 3  # 5 events, 2 per message


def test_linking_commits_asynchronously_and_leaves_the_connection_as_it_found_it():
    ids = _accepted_ids(miles_chat())
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        before = cursor.fetchone()[0]

    with CaptureQueriesContext(connection) as queries:
        raw_events_process(raw_event_ids=ids)

    statements = [q["sql"] for q in queries]
    assert statements.count("SET synchronous_commit TO off") == 1  # once per batch, not per event
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == before
