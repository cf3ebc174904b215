"""The analysts' admin: finding customers, reading their timeline, and handling failed events."""

import pytest
from django.urls import reverse

from customer_memory.models import Customer
from tests.personas import (
    MILES_PHONE_E164,
    MILES_PHONE_NATIONAL,
    OLIVIA_PHONE_E164,
    ada_email,
    miles_call,
    miles_chat,
)

pytestmark = pytest.mark.django_db

CUSTOMERS = reverse("admin:customer_memory_customer_changelist")
RAW_EVENTS = reverse("admin:channels_ingest_rawevent_changelist")


def changelist_ids(response):
    return {str(obj.pk) for obj in response.context["cl"].result_list}


def test_a_customer_is_found_by_phone_typed_as_a_caller_says_it(admin_client, ingest):
    ingest(miles_chat(), ada_email())
    miles = Customer.objects.get(identifiers__value=MILES_PHONE_E164)

    response = admin_client.get(CUSTOMERS, {"q": MILES_PHONE_NATIONAL})

    assert response.status_code == 200
    assert changelist_ids(response) == {str(miles.id)}


def test_a_customer_is_found_by_email_in_any_case(admin_client, ingest):
    ingest(miles_chat(), ada_email())

    response = admin_client.get(CUSTOMERS, {"q": "ADA@EXAMPLE.ORG"})

    assert [c.name for c in response.context["cl"].result_list] == ["Ada Byron"]


def test_a_customer_search_by_name_still_works(admin_client, ingest):
    ingest(miles_chat(), ada_email())

    response = admin_client.get(CUSTOMERS, {"q": "Miles"})

    assert [c.name for c in response.context["cl"].result_list] == ["Miles Reed"]


def test_the_customer_page_shows_identifiers_and_the_recent_timeline(admin_client, ingest):
    ingest(miles_chat(), miles_call())
    miles = Customer.objects.get()

    response = admin_client.get(reverse("admin:customer_memory_customer_change", args=[miles.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert MILES_PHONE_E164 in page
    assert "miles@example.com" in page
    assert "Card payment failed; asked to call the voice line" in page
    assert "Called about the failed card payment" in page
    assert "Priya" in page


def test_failed_events_are_listed_with_their_error(admin_client, ingest, failed_event):
    ingest(miles_chat())

    response = admin_client.get(RAW_EVENTS, {"status__exact": "failed"})

    assert response.status_code == 200
    assert changelist_ids(response) == {str(failed_event.id)}
    assert "customer.phone:" in response.content.decode()
    assert "is not a possible phone number" in response.content.decode()


def test_the_reprocess_action_requeues_a_failed_event(admin_client, failed_event, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(
            RAW_EVENTS, {"action": "reprocess", "_selected_action": [str(failed_event.id)]}, follow=True
        )

    assert response.status_code == 200
    assert "1 event(s) queued for processing again." in response.content.decode()
    failed_event.refresh_from_db()
    assert failed_event.status == "pending"
    assert failed_event.error == ""
    assert len(callbacks) == 1  # the worker's wake-up, sent on commit


def test_a_reprocessed_event_is_processed_once_its_cause_is_fixed(
    admin_client, failed_event, settings, django_capture_on_commit_callbacks
):
    settings.PHONE_DEFAULT_REGION = "GB"  # the fix: the legacy PBX's numbers are London numbers

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(RAW_EVENTS, {"action": "reprocess", "_selected_action": [str(failed_event.id)]})

    failed_event.refresh_from_db()
    assert failed_event.status == "processed"
    assert failed_event.error == ""
    assert failed_event.customer.identifiers.get().value == OLIVIA_PHONE_E164
    assert failed_event.interaction.summary == "Asked about branch opening hours"


def test_reprocessing_an_unfixed_event_fails_it_again_with_its_error(
    admin_client, failed_event, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(RAW_EVENTS, {"action": "reprocess", "_selected_action": [str(failed_event.id)]})

    failed_event.refresh_from_db()
    assert failed_event.status == "failed"
    assert failed_event.error.startswith("customer.phone:")
    assert not Customer.objects.exists()


def test_the_customer_page_shows_cases_promises_and_merges(admin_client, ingest):
    from datetime import timedelta

    from django.utils import timezone

    from interactions.services import promise_create
    from tests.personas import miles_account_update, miles_app_login, miles_shop_order

    ingest(miles_app_login(), miles_shop_order(), miles_chat())
    ingest(miles_account_update())  # merges the shop's customer into the app's
    miles = Customer.objects.get(merged_into__isnull=True)
    promise_create(customer=miles, kind="callback", due_at=timezone.now() + timedelta(hours=1))

    page = admin_client.get(reverse("admin:customer_memory_customer_change", args=[miles.pk])).content.decode()

    assert "Card payment failed" in page  # the case
    assert "Callback" in page  # the promise
    assert "Merges into this customer" in page and "One event carried identifiers of both customers" in page


def test_supervisors_list_overdue_promises(admin_client, ingest):
    from datetime import timedelta

    from django.utils import timezone

    from interactions.models import Promise
    from interactions.services import promise_create

    ingest(miles_chat())
    miles = Customer.objects.get()
    late = promise_create(customer=miles, kind="callback", due_at=timezone.now() + timedelta(hours=1))
    promise_create(customer=miles, kind="follow_up", due_at=timezone.now() + timedelta(hours=1))
    Promise.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(minutes=5))

    response = admin_client.get(reverse("admin:interactions_promise_changelist"), {"overdue_now": "yes"})

    assert changelist_ids(response) == {str(late.pk)}
    assert "OVERDUE" in response.content.decode()
