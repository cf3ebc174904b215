"""Who read which customer: the card, the timeline and the admin page each leave one entry."""

import pytest
from django.urls import reverse

from api.models import AccessLog
from customer_memory.models import Customer
from tests.personas import MILES_PHONE_E164, MILES_PHONE_NATIONAL, miles_chat

pytestmark = pytest.mark.django_db


@pytest.fixture
def miles(ingest):
    ingest(miles_chat())
    return Customer.objects.get(identifiers__value=MILES_PHONE_E164)


def test_a_card_read_by_phone_is_logged_with_client_request_id_and_ip(desk, miles):
    desk.get("/api/v1/card", {"phone": MILES_PHONE_NATIONAL}, HTTP_X_REQUEST_ID="req-42")

    entry = AccessLog.objects.get()
    assert (entry.customer_id, entry.action, entry.client.name) == (miles.id, "card", "card:read-timeline:read")
    assert (entry.request_id, entry.ip, entry.user) == ("req-42", "127.0.0.1", None)


def test_a_card_by_id_and_a_timeline_page_are_logged_once_each(desk, miles):
    desk.get(f"/api/v1/customers/{miles.id}/card")
    desk.get(f"/api/v1/customers/{miles.id}/timeline")

    assert sorted(AccessLog.objects.values_list("action", flat=True)) == ["card", "timeline"]


def test_an_unknown_caller_leaves_no_entry(desk, miles):
    desk.get("/api/v1/card", {"phone": "+12125550199"})
    assert not AccessLog.objects.exists()


def test_a_request_id_that_is_not_an_id_is_replaced(desk, miles):
    desk.get(f"/api/v1/customers/{miles.id}/card", HTTP_X_REQUEST_ID="<script>alert(1)</script>")
    request_id = AccessLog.objects.get().request_id
    assert len(request_id) == 32 and "<" not in request_id


def test_opening_a_customer_in_the_admin_is_logged_with_the_staff_user(admin_client, miles):
    admin_client.get(reverse("admin:customer_memory_customer_change", args=[miles.pk]))

    entry = AccessLog.objects.get()
    assert (entry.action, entry.user.username, entry.client) == ("admin", "admin", None)


def test_the_log_is_searchable_by_customer_id_and_filterable_in_the_admin(admin_client, desk, miles, ingest):
    from tests.personas import ada_email

    ingest(ada_email())
    ada = Customer.objects.get(name="Ada Byron")
    desk.get(f"/api/v1/customers/{miles.id}/card")
    desk.get(f"/api/v1/customers/{ada.id}/timeline")
    changelist = reverse("admin:api_accesslog_changelist")

    found = admin_client.get(changelist, {"q": str(miles.id)})
    filtered = admin_client.get(changelist, {"action__exact": "timeline"})

    assert [e.customer_id for e in found.context["cl"].result_list] == [miles.id]
    assert [e.customer_id for e in filtered.context["cl"].result_list] == [ada.id]
