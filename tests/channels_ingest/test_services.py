from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from channels_ingest.choices import RawEventFormat, RawEventStatus
from channels_ingest.models import RawEvent
from channels_ingest.services import (
    IncomingEvent,
    RejectedEvents,
    canonical_events_accept,
    raw_event_accept,
    raw_event_link,
    raw_event_normalize,
    raw_event_reprocess,
    raw_events_sweep,
)
from customer_memory.models import Customer, Trait
from interactions.models import Interaction
from tests.personas import ada_email, miles_call, miles_chat

pytestmark = pytest.mark.django_db


def test_an_accepted_event_becomes_an_interaction_of_a_new_customer(ingest):
    [accepted] = ingest(miles_chat())
    raw_event = RawEvent.objects.get(id=accepted.id)
    assert raw_event.status == RawEventStatus.PROCESSED
    assert raw_event.interaction.customer == raw_event.customer
    assert raw_event.customer.name == "Miles Reed"
    assert raw_event.attempts == 1  # normalized when accepted: linking is its one run


def test_sending_the_same_event_twice_stores_it_once(ingest):
    [first] = ingest(miles_chat())
    [again] = ingest(miles_chat(summary="a retry may even differ in its body"))
    assert again.id == first.id and again.duplicate and not first.duplicate
    assert RawEvent.objects.count() == 1
    assert Interaction.objects.count() == 1


def test_a_repeat_inside_one_batch_is_a_duplicate_of_the_first(ingest):
    results = ingest(miles_chat(), miles_chat(), ada_email())
    assert results[0].id == results[1].id
    assert [r.duplicate for r in results] == [False, True, False]
    assert RawEvent.objects.count() == 2


def test_a_batch_with_one_bad_event_stores_nothing():
    with pytest.raises(RejectedEvents) as rejected:
        canonical_events_accept(payloads=[miles_chat(), miles_call(channel="fax")])
    assert rejected.value.errors[0]["index"] == 1
    assert "event 1: channel" in str(rejected.value)
    assert RawEvent.objects.count() == 0


def _stored(payload, format=RawEventFormat.CANONICAL, external_id="raw-1"):
    [accepted] = raw_event_accept(events=[IncomingEvent("helpdesk", external_id, format, payload)])
    return accepted.id


def test_an_event_that_cannot_be_normalized_is_kept_failed_with_its_error():
    raw_event_id = _stored({"source": "helpdesk", "channel": "fax"})
    raw_event_normalize(raw_event_id=raw_event_id)
    raw_event = RawEvent.objects.get(id=raw_event_id)
    assert raw_event.status == RawEventStatus.FAILED
    assert raw_event.error == "customer: required, an object with at least one identifier"
    assert raw_event.payload == {"source": "helpdesk", "channel": "fax"}


def test_a_failed_event_is_reprocessed_once_its_cause_is_fixed(django_capture_on_commit_callbacks):
    raw_event_id = _stored(miles_chat(channel="fax"))
    raw_event_normalize(raw_event_id=raw_event_id)
    assert RawEvent.objects.get(id=raw_event_id).status == RawEventStatus.FAILED
    # The cause is fixed at the source of the problem (here: the payload is corrected by an analyst).
    RawEvent.objects.filter(id=raw_event_id).update(payload=miles_chat())
    with django_capture_on_commit_callbacks(execute=True):
        assert raw_event_reprocess(raw_event_ids=[raw_event_id]) == 1
    raw_event = RawEvent.objects.get(id=raw_event_id)
    assert raw_event.status == RawEventStatus.PROCESSED and raw_event.error == ""
    assert Interaction.objects.filter(raw_event=raw_event).count() == 1


def test_normalize_and_link_run_twice_change_nothing_the_second_time():
    raw_event_id = _stored(miles_chat())
    raw_event_normalize(raw_event_id=raw_event_id)
    first = raw_event_link(raw_event_id=raw_event_id)
    assert raw_event_normalize(raw_event_id=raw_event_id) is None
    assert raw_event_link(raw_event_id=raw_event_id) is None
    assert Interaction.objects.get() == first
    assert Customer.objects.count() == 1
    assert RawEvent.objects.get(id=raw_event_id).attempts == 2


def test_reprocessing_a_processed_event_updates_its_interaction_and_traits_in_place(
    ingest, django_capture_on_commit_callbacks
):
    [accepted] = ingest(miles_chat())
    traits_before = Trait.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        raw_event_reprocess(raw_event_ids=[accepted.id])
    assert RawEvent.objects.get(id=accepted.id).status == RawEventStatus.PROCESSED
    assert Interaction.objects.count() == 1
    assert Trait.objects.count() == traits_before


def test_the_sweeper_wakes_events_whose_task_was_lost(django_capture_on_commit_callbacks):
    # Stored, but the wake-up never reached a worker (the broker was down at commit, say).
    lost_before_normalize = _stored(miles_chat(), external_id="lost-1")
    lost_before_link = _stored(ada_email(), external_id="lost-2")
    raw_event_normalize(raw_event_id=lost_before_link)  # its link task is never run
    RawEvent.objects.update(updated_at=timezone.now() - timedelta(minutes=10))

    with django_capture_on_commit_callbacks(execute=True):
        result = raw_events_sweep()

    assert result.requeued == 2 and result.dead == 0
    assert set(RawEvent.objects.values_list("status", flat=True)) == {RawEventStatus.PROCESSED}
    assert RawEvent.objects.get(id=lost_before_normalize).interaction is not None


def test_the_sweeper_leaves_recent_pending_events_to_the_workers():
    _stored(miles_chat())
    assert raw_events_sweep().requeued == 0
    assert RawEvent.objects.get().status == RawEventStatus.PENDING


def test_the_sweeper_parks_events_that_used_up_their_attempts_as_dead(settings):
    raw_event_id = _stored(miles_chat())
    RawEvent.objects.filter(id=raw_event_id).update(
        attempts=settings.RAW_EVENT_MAX_ATTEMPTS, updated_at=timezone.now() - timedelta(hours=1)
    )
    result = raw_events_sweep()
    assert result.dead == 1 and result.requeued == 0
    assert RawEvent.objects.get(id=raw_event_id).status == RawEventStatus.DEAD


def test_a_dead_event_can_be_retried(settings, django_capture_on_commit_callbacks):
    raw_event_id = _stored(miles_chat())
    RawEvent.objects.filter(id=raw_event_id).update(status=RawEventStatus.DEAD, attempts=10)
    with django_capture_on_commit_callbacks(execute=True):
        raw_event_reprocess(raw_event_ids=[raw_event_id])
    assert RawEvent.objects.get(id=raw_event_id).status == RawEventStatus.PROCESSED


@pytest.fixture
def unreachable_broker():
    """Celery publishing for real, to a broker address where nothing listens."""
    from customer_memory.celery import app

    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url", "broker_connection_max_retries")}

    def forget_connections():
        # The app caches its connection pool and the producer pool built on it; drop both so that
        # publishing connects to the broker configured now.
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.update(task_always_eager=False, broker_url="redis://127.0.0.1:9/0", broker_connection_max_retries=1)
    forget_connections()
    yield app
    app.conf.update(saved)
    forget_connections()


def test_a_broker_outage_at_accept_does_not_fail_the_sender(
    unreachable_broker, django_capture_on_commit_callbacks, caplog
):
    with django_capture_on_commit_callbacks(execute=True):
        [accepted] = canonical_events_accept(payloads=[miles_chat()])
    # Stored and still pending: the sweeper will pick it up once the broker is back.
    assert RawEvent.objects.get(id=accepted.id).status == RawEventStatus.PENDING
    assert (
        f"could not enqueue channels_ingest.tasks.process_raw_events_task for 1 raw events ({accepted.id}, …)"
        in caplog.text
    )


def test_a_crashing_normalizer_parks_the_event_as_failed_with_the_crash(monkeypatch):
    from channels_ingest import normalizers

    monkeypatch.setitem(normalizers.NORMALIZERS, "brittle", lambda payload, delivery: payload["missing"])
    raw_event_id = _stored({"any": "thing"}, format="brittle")

    raw_event_normalize(raw_event_id=raw_event_id)

    raw_event = RawEvent.objects.get(id=raw_event_id)
    assert raw_event.status == RawEventStatus.FAILED
    assert raw_event.error == "normalizer crashed: KeyError: 'missing'"


def test_a_linking_error_is_recorded_on_the_event_and_raised_for_retry():
    raw_event_id = _stored(miles_chat())
    raw_event_normalize(raw_event_id=raw_event_id)
    RawEvent.objects.filter(id=raw_event_id).update(normalized={"source": "helpdesk"})  # unreadable by linking

    with pytest.raises(KeyError):
        raw_event_link(raw_event_id=raw_event_id)

    raw_event = RawEvent.objects.get(id=raw_event_id)
    assert raw_event.status == RawEventStatus.PENDING  # left for the retry and, in the end, the sweeper
    assert raw_event.error.startswith("linking failed: KeyError")
    assert Interaction.objects.count() == 0


def test_the_inbox_is_vacuumed_after_one_percent_of_it_is_dead_rows():
    # One dead row per processed event: the default (20 %) leaves a table of millions bloated for hours.
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'channels_ingest_rawevent'")
        options = cursor.fetchone()[0]
    assert "autovacuum_vacuum_scale_factor=0.01" in options
