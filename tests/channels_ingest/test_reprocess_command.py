from io import StringIO

import pytest
from django.core.management import call_command

from channels_ingest.models import RawEvent
from interactions.models import Interaction
from tests.channels import fixture_json

pytestmark = pytest.mark.django_db


def _reprocess(*args, capture):
    out = StringIO()
    with capture(execute=True):
        call_command("reprocess", *args, stdout=out)
    return out.getvalue()


def test_a_failed_chat_event_is_processed_once_its_cause_is_fixed(
    channel, settings, django_capture_on_commit_callbacks
):
    # The widget sent the visitor's UK phone without a country code: under region US it is no number.
    transcript = {**fixture_json("chat/transcript.json"), "visitor": {"phone": "020 7946 0000"}}
    channel.post("/api/v1/ingest/chat", transcript, format="json")
    event = RawEvent.objects.get()
    assert event.status == "failed"

    settings.PHONE_DEFAULT_REGION = "GB"
    output = _reprocess(capture=django_capture_on_commit_callbacks)

    assert output.strip() == "1 event(s) queued for processing again."
    event.refresh_from_db()
    assert event.status == "processed" and event.error == ""
    assert Interaction.objects.get().customer.identifiers.get().value == "+442079460000"


def test_reprocessing_processed_events_updates_them_in_place(channel, django_capture_on_commit_callbacks):
    channel.post("/api/v1/ingest/chat", fixture_json("chat/transcript.json"), format="json")
    _reprocess("--status", "processed", "--format", "chat", capture=django_capture_on_commit_callbacks)
    assert Interaction.objects.count() == 1 and len(Interaction.objects.get().messages) == 4


def test_a_dry_run_counts_and_changes_nothing(failed_event, django_capture_on_commit_callbacks):
    output = _reprocess("--dry-run", capture=django_capture_on_commit_callbacks)
    assert output.strip() == "1 event(s) would be reprocessed."
    failed_event.refresh_from_db()
    assert failed_event.status == "failed"


def test_events_can_be_named_by_id(failed_event, settings, django_capture_on_commit_callbacks):
    settings.PHONE_DEFAULT_REGION = "GB"
    _reprocess(str(failed_event.id), capture=django_capture_on_commit_callbacks)
    failed_event.refresh_from_db()
    assert failed_event.status == "processed"
