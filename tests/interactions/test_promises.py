"""Promises: kept by a matching outbound contact, marked overdue by the periodic task."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from customer_memory.models import Customer
from interactions.models import Agent, Case, Interaction, Promise
from interactions.services import promise_create, promise_update, promises_mark_overdue
from interactions.tasks import mark_overdue_promises_task
from tests.personas import miles_call, miles_chat

pytestmark = pytest.mark.django_db


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def miles(ingest):
    """miles chatted an hour ago (case T-9) and was promised a callback."""
    ingest(miles_chat(occurred_at=iso(timezone.now() - timedelta(hours=1))))
    return Customer.objects.get()


def callback(customer, **kwargs):
    kwargs.setdefault("due_at", timezone.now() + timedelta(hours=2))
    return promise_create(customer=customer, kind=kwargs.pop("kind", "callback"), **kwargs)


def status_of(promise):
    promise.refresh_from_db()
    return promise.status


def test_an_outbound_call_after_the_promise_keeps_it(miles, ingest):
    promise = callback(miles, channel="voice", case=Case.objects.get())

    ingest(miles_call(external_id="cb-1", direction="outbound", occurred_at=iso(timezone.now())))

    promise.refresh_from_db()
    assert promise.status == "kept"
    assert promise.kept_by == Interaction.objects.get(external_id="cb-1")
    assert promise.kept_at is not None


def test_an_inbound_call_does_not_keep_a_callback(miles, ingest):
    promise = callback(miles)

    ingest(miles_call(external_id="in-1", direction="inbound", occurred_at=iso(timezone.now())))

    assert status_of(promise) == "open"


def test_an_outbound_contact_before_the_promise_was_made_does_not_keep_it(miles, ingest):
    promise = callback(miles)

    ingest(
        miles_call(external_id="old-1", direction="outbound", occurred_at=iso(timezone.now() - timedelta(minutes=30)))
    )

    assert status_of(promise) == "open"


def test_a_promise_on_one_channel_is_not_kept_on_another(miles, ingest):
    promise = callback(miles, channel="voice")

    ingest(
        miles_chat(external_id="out-chat", direction="outbound", occurred_at=iso(timezone.now()), case=None, agent=None)
    )

    assert status_of(promise) == "open"


def test_a_follow_up_on_any_channel_is_kept_by_an_email(miles, ingest):
    promise = callback(miles, kind="follow_up")

    ingest(
        {
            "source": "mailbox",
            "external_id": "reply-1",
            "channel": "email",
            "direction": "outbound",
            "occurred_at": iso(timezone.now()),
            "customer": {"email": "miles@example.com"},
            "summary": "Update on your card payment",
        }
    )

    assert status_of(promise) == "kept"


def test_a_promise_on_a_case_is_not_kept_by_a_contact_about_another_case(miles, ingest):
    promise = callback(miles, case=Case.objects.get(external_id="T-9"))

    ingest(
        miles_call(
            external_id="other-case",
            direction="outbound",
            occurred_at=iso(timezone.now()),
            case={"external_id": "T-77", "title": "Mortgage question"},
        )
    )

    assert status_of(promise) == "open"


def test_an_internal_note_keeps_nothing(miles, ingest):
    promise = callback(miles)

    ingest(miles_call(external_id="note-1", direction="internal", occurred_at=iso(timezone.now())))

    assert status_of(promise) == "open"


def test_another_customers_contact_keeps_nothing(miles, ingest):
    promise = callback(miles)

    ingest(
        miles_call(
            external_id="x", direction="outbound", customer={"phone": "+12125550199"}, occurred_at=iso(timezone.now())
        )
    )

    assert status_of(promise) == "open"


def test_the_periodic_task_marks_promises_past_due_overdue(miles):
    past_due = callback(miles, due_at=timezone.now() + timedelta(seconds=1))
    Promise.objects.filter(pk=past_due.pk).update(due_at=timezone.now() - timedelta(minutes=5))
    not_yet = callback(miles)
    cancelled = callback(miles)
    promise_update(promise=cancelled, changes={"status": "cancelled"})
    Promise.objects.filter(pk=cancelled.pk).update(due_at=timezone.now() - timedelta(minutes=5))

    mark_overdue_promises_task.delay()

    assert (status_of(past_due), status_of(not_yet), status_of(cancelled)) == ("overdue", "open", "cancelled")
    assert promises_mark_overdue() == 0  # nothing left to mark: running again changes nothing


def test_the_overdue_sweep_is_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["mark-overdue-promises"]
    assert entry["task"] == mark_overdue_promises_task.name


def test_an_overdue_promise_kept_late_is_kept(miles, ingest):
    promise = callback(miles)
    Promise.objects.filter(pk=promise.pk).update(status="overdue", due_at=timezone.now() - timedelta(minutes=1))

    ingest(miles_call(external_id="late", direction="outbound", occurred_at=iso(timezone.now())))

    assert status_of(promise) == "kept"


def test_moving_the_due_time_ahead_reopens_an_overdue_promise(miles):
    promise = callback(miles, owner=Agent.objects.get(name="Priya"))
    Promise.objects.filter(pk=promise.pk).update(status="overdue")
    promise.refresh_from_db()

    promise_update(promise=promise, changes={"due_at": timezone.now() + timedelta(days=1)})

    assert status_of(promise) == "open"
