"""Nothing lost, nothing doubled: reruns change nothing, duplicate deliveries cost no attempt, recovery is
bounded by the sweeper, and dead events are retried by command."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from channels_ingest.choices import RawEventStatus
from channels_ingest.models import RawEvent
from channels_ingest.normalizers import normalize_payload
from channels_ingest.services import (
    IncomingEvent,
    raw_event_accept,
    raw_event_link,
    raw_event_normalize,
    raw_events_sweep,
)
from customer_memory.models import Customer, Identifier, Trait
from interactions.models import Case, Interaction
from tests.personas import miles_chat


def _stored(external_id="chat-1"):
    [accepted] = raw_event_accept(
        events=[IncomingEvent("helpdesk", external_id, "canonical", miles_chat(external_id=external_id))]
    )
    return accepted.id


def _snapshot(raw_event_id):
    row = RawEvent.objects.values().get(id=raw_event_id)
    counts = [model.objects.count() for model in (Customer, Identifier, Trait, Interaction, Case)]
    return row, counts


@pytest.mark.django_db
def test_a_second_normalize_changes_nothing_and_only_nudges_linking(monkeypatch):
    raw_event_id = _stored()
    raw_event_normalize(raw_event_id=raw_event_id)
    before = _snapshot(raw_event_id)
    nudged = []
    monkeypatch.setattr("channels_ingest.services.enqueue_process", nudged.extend)

    raw_event_normalize(raw_event_id=raw_event_id)

    assert _snapshot(raw_event_id) == before
    assert nudged == [raw_event_id]  # its link wake-up may have been lost: linking is idempotent


@pytest.mark.django_db
def test_a_second_link_changes_nothing_anywhere():
    raw_event_id = _stored()
    raw_event_normalize(raw_event_id=raw_event_id)
    raw_event_link(raw_event_id=raw_event_id)
    before = _snapshot(raw_event_id)

    assert raw_event_link(raw_event_id=raw_event_id) is None

    assert _snapshot(raw_event_id) == before
    assert before[0]["attempts"] == 2  # one normalize, one link


@pytest.fixture
def row_held_by_another_worker(transactional_db):
    """Another worker's transaction holding the event's row lock (it is mid-link) until released."""
    holding, release = threading.Event(), threading.Event()

    def hold(raw_event_id):
        try:
            with transaction.atomic():
                RawEvent.objects.select_for_update().get(id=raw_event_id)
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    def start(raw_event_id):
        thread = threading.Thread(target=hold, args=(raw_event_id,))
        thread.start()
        assert holding.wait(10)
        return thread

    yield start
    release.set()


@pytest.mark.parametrize("step", ["normalize", "link"])
def test_a_duplicate_delivery_while_another_worker_holds_the_event_leaves_without_an_attempt(
    row_held_by_another_worker, step
):
    # Stored directly: with eager tasks, the accept service would process it before the lock is taken.
    raw_event_id = RawEvent.objects.create(
        source="helpdesk", external_id="chat-1", format="canonical", payload=miles_chat()
    ).id
    if step == "link":
        normalized = normalize_payload("canonical", miles_chat()).to_json()
        RawEvent.objects.filter(id=raw_event_id).update(normalized=normalized, attempts=1)
    attempts = RawEvent.objects.get(id=raw_event_id).attempts
    row_held_by_another_worker(raw_event_id)

    run = raw_event_normalize if step == "normalize" else raw_event_link
    assert run(raw_event_id=raw_event_id) is None  # returns at once instead of waiting for the lock

    raw_event = RawEvent.objects.get(id=raw_event_id)
    assert raw_event.attempts == attempts and raw_event.status == RawEventStatus.PENDING


@pytest.mark.django_db
def test_only_failed_link_runs_use_up_the_attempts_until_the_sweeper_parks_the_event_dead():
    raw_event_id = _stored()
    raw_event_normalize(raw_event_id=raw_event_id)
    RawEvent.objects.filter(id=raw_event_id).update(normalized={"source": "helpdesk"})  # unreadable by linking
    for _ in range(settings.RAW_EVENT_MAX_ATTEMPTS - 1):
        with pytest.raises(KeyError):
            raw_event_link(raw_event_id=raw_event_id)
    assert RawEvent.objects.get(id=raw_event_id).attempts == settings.RAW_EVENT_MAX_ATTEMPTS  # 1 normalize + 9
    RawEvent.objects.filter(id=raw_event_id).update(updated_at=timezone.now() - timedelta(hours=1))

    assert raw_events_sweep().dead == 1

    assert RawEvent.objects.get(id=raw_event_id).status == RawEventStatus.DEAD


@pytest.mark.django_db
def test_dead_events_are_retried_by_command(django_capture_on_commit_callbacks, capsys):
    dead = _stored("chat-dead")
    failed = _stored("chat-failed")
    RawEvent.objects.filter(id=dead).update(status=RawEventStatus.DEAD, attempts=10)
    RawEvent.objects.filter(id=failed).update(status=RawEventStatus.FAILED, attempts=1)

    call_command("reprocess", "--status", "dead", "--dry-run")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("reprocess", "--status", "dead")

    assert capsys.readouterr().out.splitlines() == [
        "1 event(s) would be reprocessed.",
        "1 event(s) queued for processing again.",
    ]
    assert RawEvent.objects.get(id=dead).status == RawEventStatus.PROCESSED
    assert RawEvent.objects.get(id=failed).status == RawEventStatus.FAILED  # only with --status failed


def test_recovery_from_a_dead_worker_is_bounded_by_the_sweeper_not_the_broker():
    """An event held by a killed worker is swept back within SWEEP_AFTER + SWEEP_INTERVAL, under two
    minutes, long before Redis would redeliver it (its visibility timeout must outlast any real task run,
    or live tasks would be delivered twice)."""
    interval = settings.CELERY_BEAT_SCHEDULE["sweep-pending-raw-events"]["schedule"]
    bound = settings.RAW_EVENT_SWEEP_AFTER + interval
    assert bound <= timedelta(minutes=2)
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] == 300
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST


@pytest.mark.django_db
def test_the_sweeper_adds_no_copies_while_the_queue_holds_a_backlog(redis_broker, settings):
    from channels_ingest.services import broker_backlog
    from channels_ingest.tasks import sweep_pending_raw_events_task

    settings.RAW_EVENT_SWEEP_MAX_BACKLOG = 3
    raw_event_id = RawEvent.objects.create(
        source="helpdesk", external_id="chat-1", format="canonical", payload=miles_chat()
    ).id
    RawEvent.objects.filter(id=raw_event_id).update(updated_at=timezone.now() - timedelta(hours=1))
    for _ in range(3):
        sweep_pending_raw_events_task.delay()  # three messages waiting, nobody consuming

    assert broker_backlog() == 3
    assert raw_events_sweep().requeued == 0

    redis_broker()  # the workers caught up
    assert raw_events_sweep().requeued == 1
    assert broker_backlog() == 1  # its normalize task, waiting for a worker
