"""The card cache (Redis under `make test`): fast reads that never show a state older than the last commit."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from customer_memory import card_cache
from customer_memory.card import card_facts
from customer_memory.models import Customer, Identifier
from interactions.models import Agent, Case, Promise
from interactions.services import handover_create, promise_create, promises_mark_overdue
from tests.personas import (
    MILES_ACCOUNT,
    MILES_EMAIL,
    MILES_PHONE_E164,
    ada_email,
    miles_account_update,
    miles_app_login,
    miles_call,
    miles_chat,
    miles_shop_order,
)

pytestmark = pytest.mark.django_db

CARD = "/api/v1/card"


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a write as if its transaction committed, so its after-commit invalidation happens."""

    def committed(write, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return write(*args, **kwargs)

    return committed


def card_by_phone(desk):
    return desk.get(CARD, {"phone": MILES_PHONE_E164}).json()


def test_a_card_read_right_after_an_event_is_linked_shows_it(desk, ingest):
    ingest(miles_chat(occurred_at=iso(timezone.now() - timedelta(minutes=12))))
    assert card_by_phone(desk)["last_contact"]["channel"] == "chat"  # now cached

    ingest(miles_call(occurred_at=iso(timezone.now() - timedelta(minutes=1))))

    card = card_by_phone(desk)
    assert card["last_contact"]["channel"] == "voice"
    assert card["last_contact"]["ago"] == "1 minute ago"


def test_a_promise_and_a_handover_show_on_the_cached_card_at_once(desk, ingest, committed):
    ingest(miles_chat())
    assert card_by_phone(desk)["promises"] == []
    customer = Customer.objects.get()
    priya = Agent.objects.get(name="Priya")
    dave = Agent.objects.create(source="directory", external_id="dave", name="Dave")

    committed(promise_create, customer=customer, kind="callback", due_at=timezone.now() + timedelta(hours=1))
    committed(handover_create, case=Case.objects.get(), from_agent=priya, to_agent=dave, note="Over to you")

    card = card_by_phone(desk)
    assert [p["kind"] for p in card["promises"]] == ["callback"]
    assert [n["note"] for n in card["handover_notes"]] == ["Over to you"]


def test_promises_the_periodic_task_marks_overdue_show_so_on_the_cached_card(desk, ingest, committed):
    ingest(miles_chat())
    promise = promise_create(
        customer=Customer.objects.get(), kind="callback", due_at=timezone.now() + timedelta(hours=1)
    )
    assert card_by_phone(desk)["promises"][0]["status"] == "open"

    # The sweep uses QuerySet.update (no signals): it must invalidate the cards itself.
    committed(promises_mark_overdue, now=timezone.now() + timedelta(hours=2))

    assert Promise.objects.get(pk=promise.pk).status == "overdue"
    assert card_by_phone(desk)["promises"][0]["status"] == "overdue"


def test_relative_wording_is_computed_at_read_time_not_cached(ingest, django_assert_num_queries):
    ingest(miles_chat(occurred_at=iso(timezone.now() - timedelta(minutes=12))))
    customer_id = Customer.objects.get().pk
    now = timezone.now()
    assert card_cache.card_for_customer_id(customer_id, now=now)["last_contact"]["ago"] == "12 minutes ago"

    with django_assert_num_queries(0):
        later = card_cache.card_for_customer_id(customer_id, now=now + timedelta(hours=25))

    assert later["last_contact"]["ago"] == "1 day ago"
    assert later["last_contact"]["continuation"] is None  # past the continuation window now


def test_a_merge_moves_the_lookup_to_the_survivor(desk, ingest):
    ingest(miles_app_login())  # customer A: account only
    ingest(miles_shop_order())  # customer B: email only
    by_email = desk.get(CARD, {"email": MILES_EMAIL}).json()
    by_account = desk.get(CARD, {"account": MILES_ACCOUNT}).json()
    assert by_email["customer"]["id"] != by_account["customer"]["id"]

    ingest(miles_account_update())  # one person: B is merged into A

    survivor = Customer.objects.get(merged_into__isnull=True)
    card = desk.get(CARD, {"email": MILES_EMAIL}).json()
    assert card["customer"]["id"] == str(survivor.id)
    assert {i["kind"] for i in card["customer"]["identifiers"]} == {"account", "email"}
    merged_id = (
        by_email["customer"]["id"] if by_email["customer"]["id"] != str(survivor.id) else by_account["customer"]["id"]
    )
    assert desk.get(f"/api/v1/customers/{merged_id}/card").json()["customer"]["id"] == str(survivor.id)


def test_an_identifier_moved_without_signals_is_not_served_from_a_stale_mapping(desk, ingest):
    ingest(miles_chat(), ada_email())
    miles = Customer.objects.get(name="Miles Reed")
    ada = Customer.objects.get(name="Ada Byron")
    assert card_by_phone(desk)["customer"]["id"] == str(miles.id)

    # A bulk move, as a merge or an analyst's fix does it, followed by the one call such writes must make.
    Identifier.objects.filter(value=MILES_PHONE_E164).update(customer=ada)
    card_cache.card_changed([miles.id, ada.id])

    assert card_by_phone(desk)["customer"]["id"] == str(ada.id)


def test_an_erased_customer_is_not_served_from_the_cache(desk, ingest, committed):
    ingest(miles_chat())
    customer = Customer.objects.get()
    assert card_by_phone(desk)["known"] is True

    committed(customer.delete)

    assert card_by_phone(desk)["known"] is False
    assert desk.get(f"/api/v1/customers/{customer.pk}/card").status_code == 404


def test_a_renamed_agent_shows_under_the_new_name(desk, ingest, committed):
    ingest(miles_chat())
    assert card_by_phone(desk)["last_contact"]["agent"]["name"] == "Priya"
    priya = Agent.objects.get(name="Priya")
    priya.name = "Priya Shah"

    committed(priya.save)

    assert card_by_phone(desk)["last_contact"]["agent"]["name"] == "Priya Shah"


def test_facts_built_before_a_change_are_never_served_after_it(desk, ingest):
    """A reader that read the database before a commit and writes the cache after it loses the race."""
    ingest(miles_chat())
    customer = Customer.objects.get()
    card_by_phone(desk)
    stale_token = cache.get(card_cache._token_key(customer.pk))
    stale_facts = card_facts(customer)  # read before the change...

    ingest(miles_call())  # ...the change commits and replaces the token...
    cache.set(  # ...and the slow reader stores what it read, under the token it had.
        card_cache._facts_key(customer.pk),
        {"token": stale_token, "agents_token": cache.get(card_cache._AGENTS_TOKEN), "facts": stale_facts},
    )

    assert card_by_phone(desk)["last_contact"]["channel"] == "voice"
