"""Who read which customer: the card, the timeline and the admin page each leave one entry.

Card reads are buffered in Redis and written in batches (api/access_log.py): tests of what they leave call
`access_log.flush()` first, as the beat task, the admin and an erasure do.
"""

import pytest
import redis
from django.urls import reverse
from django.utils import timezone

from api import access_log
from api.models import AccessLog
from customer_memory.models import Customer
from customer_memory.privacy import customer_erase
from tests.personas import MILES_PHONE_E164, MILES_PHONE_NATIONAL, ada_email, miles_chat

pytestmark = pytest.mark.django_db


@pytest.fixture
def miles(ingest):
    ingest(miles_chat())
    return Customer.objects.get(identifiers__value=MILES_PHONE_E164)


def test_a_card_read_by_phone_is_logged_with_client_request_id_and_ip(desk, miles):
    desk.get("/api/v1/card", {"phone": MILES_PHONE_NATIONAL}, HTTP_X_REQUEST_ID="req-42")
    access_log.flush()

    entry = AccessLog.objects.get()
    assert (entry.customer_id, entry.action, entry.client.name) == (miles.id, "card", "card:read-timeline:read")
    assert (entry.request_id, entry.ip, entry.user) == ("req-42", "127.0.0.1", None)


def test_a_card_by_id_and_a_timeline_page_are_logged_once_each(desk, miles):
    desk.get(f"/api/v1/customers/{miles.id}/card")
    desk.get(f"/api/v1/customers/{miles.id}/timeline")
    access_log.flush()

    assert sorted(AccessLog.objects.values_list("action", flat=True)) == ["card", "timeline"]


def test_an_unknown_caller_leaves_no_entry(desk, miles):
    desk.get("/api/v1/card", {"phone": "+12125550199"})
    access_log.flush()
    assert not AccessLog.objects.exists()


def test_a_request_id_that_is_not_an_id_is_replaced(desk, miles):
    desk.get(f"/api/v1/customers/{miles.id}/card", HTTP_X_REQUEST_ID="<script>alert(1)</script>")
    access_log.flush()
    request_id = AccessLog.objects.get().request_id
    assert len(request_id) == 32 and "<" not in request_id


def test_opening_a_customer_in_the_admin_is_logged_with_the_staff_user(admin_client, miles):
    admin_client.get(reverse("admin:customer_memory_customer_change", args=[miles.pk]))

    entry = AccessLog.objects.get()
    assert (entry.action, entry.user.username, entry.client) == ("admin", "admin", None)


def test_the_log_is_searchable_by_customer_id_and_filterable_in_the_admin(admin_client, desk, miles, ingest):
    ingest(ada_email())
    ada = Customer.objects.get(name="Ada Byron")
    desk.get(f"/api/v1/customers/{miles.id}/card")
    desk.get(f"/api/v1/customers/{ada.id}/timeline")
    changelist = reverse("admin:api_accesslog_changelist")

    found = admin_client.get(changelist, {"q": str(miles.id)})
    filtered = admin_client.get(changelist, {"action__exact": "timeline"})

    assert [e.customer_id for e in found.context["cl"].result_list] == [miles.id]
    assert [e.customer_id for e in filtered.context["cl"].result_list] == [ada.id]


# --- Card reads: buffered in Redis, written in batches


def _buffered(settings) -> list[bytes]:
    return redis.Redis.from_url(settings.REDIS_URL).lrange(f":1:{access_log.BUFFER_KEY}", 0, -1)


def test_a_card_read_waits_in_redis_until_a_flush_writes_it(desk, miles, settings):
    desk.get("/api/v1/card", {"phone": MILES_PHONE_NATIONAL})

    assert not AccessLog.objects.exists()
    assert len(_buffered(settings)) == 1 and str(miles.id).encode() in _buffered(settings)[0]
    assert access_log.flush() == 1
    assert AccessLog.objects.get().customer_id == miles.id
    assert _buffered(settings) == []


def test_the_read_that_fills_a_batch_writes_it(desk, miles, settings):
    settings.ACCESS_LOG_BATCH = 3
    for _ in range(2):
        desk.get(f"/api/v1/customers/{miles.id}/card")
    assert not AccessLog.objects.exists()

    desk.get(f"/api/v1/customers/{miles.id}/card")

    assert AccessLog.objects.filter(customer_id=miles.id, action="card").count() == 3
    assert _buffered(settings) == []


def test_the_entry_keeps_the_time_of_the_read_not_of_the_flush(desk, miles):
    before_read = timezone.now()
    desk.get("/api/v1/card", {"phone": MILES_PHONE_NATIONAL})
    before_flush = timezone.now()

    access_log.flush()

    assert before_read <= AccessLog.objects.get().at <= before_flush


def test_the_admin_list_shows_reads_still_buffered(admin_client, desk, miles):
    desk.get(f"/api/v1/customers/{miles.id}/card")

    page = admin_client.get(reverse("admin:api_accesslog_changelist"))

    assert [e.customer_id for e in page.context["cl"].result_list] == [miles.id]


def test_an_erasure_covers_card_reads_still_buffered(desk, miles, settings):
    desk.get(f"/api/v1/customers/{miles.id}/card")

    erasure = customer_erase(customer=miles)

    assert erasure.erased["access_log"] == 1
    assert not AccessLog.objects.filter(customer_id=miles.id).exists()
    assert _buffered(settings) == []


def test_a_buffered_read_of_a_customer_erased_before_the_flush_is_dropped(desk, miles, ingest):
    ingest(ada_email())
    ada = Customer.objects.get(name="Ada Byron")
    desk.get(f"/api/v1/customers/{ada.id}/card")
    desk.get(f"/api/v1/customers/{miles.id}/card")
    Customer.objects.filter(pk=miles.pk).delete()  # as an erasure racing the read would leave it

    assert access_log.flush() == 2
    assert list(AccessLog.objects.values_list("customer_id", flat=True)) == [ada.id]


def test_without_a_batch_every_card_read_is_written_at_once(desk, miles, settings):
    settings.ACCESS_LOG_BATCH = 1

    desk.get(f"/api/v1/customers/{miles.id}/card")

    assert AccessLog.objects.get().customer_id == miles.id
    assert _buffered(settings) == []


def test_the_beat_task_flushes_the_buffer(desk, miles):
    from api.tasks import flush_access_log_task

    desk.get(f"/api/v1/customers/{miles.id}/card")
    flush_access_log_task.delay()

    assert AccessLog.objects.get().action == "card"


@pytest.fixture
def with_a_broker(settings):
    """Celery as in production (not eager): a task sent goes to the broker (the test Redis) for a worker."""
    from customer_memory.celery import app

    queue = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    yield queue
    app.conf.task_always_eager = eager
    queue.delete(settings.CELERY_TASK_DEFAULT_QUEUE)


def test_the_read_that_fills_a_batch_leaves_the_write_to_a_worker(desk, miles, settings, with_a_broker):
    settings.ACCESS_LOG_BATCH = 2
    desk.get(f"/api/v1/customers/{miles.id}/card")  # cold: logged by record_read
    desk.get(f"/api/v1/customers/{miles.id}/card")  # warm: logged in the card's script call; fills the batch

    assert not AccessLog.objects.exists()  # the web request wrote nothing
    messages = with_a_broker.lrange(settings.CELERY_TASK_DEFAULT_QUEUE, 0, -1)
    assert len(messages) == 1 and b"api.tasks.flush_access_log_task" in messages[0]
    assert access_log.flush() == 2  # what the worker's task does
