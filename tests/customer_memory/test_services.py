import threading
import time
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction

from channels_ingest.choices import RawEventStatus
from channels_ingest.models import RawEvent
from channels_ingest.services import raw_event_link
from customer_memory.identifiers import ObservedIdentifier
from customer_memory.models import Customer, Identifier, Merge
from customer_memory.services import customer_link
from interactions.models import Case, Interaction
from tests.inbox import stored_normalized
from tests.personas import ada_email, miles_call, miles_chat

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def phone(value):
    return ObservedIdentifier(kind="phone", value=value)


def email(value):
    return ObservedIdentifier(kind="email", value=value)


@pytest.mark.django_db
def test_an_event_with_no_known_identifier_creates_a_customer():
    result = customer_link(identifiers=[phone("+14155550100")], traits={}, source="pbx", observed_at=AT)
    assert result.created
    assert Identifier.objects.get().customer == result.customer


@pytest.mark.django_db
def test_a_known_phone_links_to_its_customer_and_adds_the_new_email():
    first = customer_link(identifiers=[phone("+14155550100")], traits={}, source="pbx", observed_at=AT)
    second = customer_link(
        identifiers=[phone("+14155550100"), email("miles@example.com")], traits={}, source="chat", observed_at=AT
    )
    assert not second.created and second.customer == first.customer
    assert set(first.customer.identifiers.values_list("kind", flat=True)) == {"phone", "email"}
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_a_chat_and_a_call_from_the_same_number_in_two_formats_are_one_customer(ingest):
    ingest(miles_chat(), miles_call())
    customer = Customer.objects.get()
    assert customer.interactions.count() == 2
    assert customer.identifiers.get(kind="phone").value == "+14155550100"


@pytest.mark.django_db
def test_an_event_vouching_for_identifiers_of_two_customers_merges_them_and_records_why(ingest):
    ingest(
        miles_call(customer={"phone": "+14155550100"}),
        ada_email(customer={"email": "miles@example.com"}, summary="Mail from Miles's address"),
    )
    assert Customer.objects.live().count() == 2
    older = Customer.objects.by_identifier("phone", "+14155550100")
    younger = Customer.objects.by_identifier("email", "miles@example.com")

    # Carries both the phone and the email, both verified (e.g. the customer logged in to the chat).
    ingest(miles_chat(case=None, customer={**miles_chat()["customer"], "verified": ["phone", "email"]}))

    merge = Merge.objects.get()
    assert merge.survivor == older and merge.merged == younger
    assert merge.reason == "shared_identifier"
    assert "email:miles@example.com" in merge.evidence["identifiers"]
    assert merge.raw_event.external_id == "chat-1"
    assert len(merge.moved["interactions"]) == 1 and len(merge.moved["identifiers"]) == 1
    younger.refresh_from_db()
    assert younger.merged_into == older and younger.resolved() == older
    assert older.interactions.count() == 3 and not younger.interactions.exists()
    assert Customer.objects.live().count() == 1


@pytest.mark.django_db
def test_a_newer_event_renames_but_an_older_one_only_fills_blanks(ingest):
    ingest(miles_call(customer={"phone": "+14155550100", "name": "Miles Reed"}, occurred_at="2026-11-23T10:00:00Z"))
    ingest(
        miles_chat(
            external_id="old",
            occurred_at="2020-01-01T00:00:00Z",
            customer={"phone": "+14155550100", "name": "M. Reed", "language": "en"},
        )
    )
    customer = Customer.objects.get()
    assert customer.name == "Miles Reed" and customer.language == "en"
    assert customer.first_seen_at.year == 2020
    assert customer.traits.filter(name="name").count() == 2


@pytest.mark.django_db
def test_a_newer_first_name_alone_does_not_cut_the_name_short_but_a_newer_full_name_renames(ingest):
    ingest(miles_call(customer={"phone": "+14155550100", "name": "Miles Reed"}, occurred_at="2026-11-23T10:00:00Z"))
    ingest(miles_chat(customer={"phone": "+14155550100", "first_name": "Miles"}, occurred_at="2026-11-24T10:00:00Z"))
    assert Customer.objects.get().name == "Miles Reed"

    ingest(
        miles_chat(
            external_id="renamed",
            customer={"phone": "+14155550100", "first_name": "Miles", "last_name": "Reed-Okafor"},
            occurred_at="2026-11-25T10:00:00Z",
        )
    )
    assert Customer.objects.get().name == "Miles Reed-Okafor"


@pytest.mark.django_db
def test_the_earliest_customer_since_of_any_source_is_kept(ingest):
    ingest(miles_chat(customer={"phone": "+14155550100", "customer_since": "2018-01-01"}))
    ingest(miles_call(customer={"phone": "+14155550100", "customer_since": "2015-04-02"}))
    assert Customer.objects.get().customer_since.isoformat() == "2015-04-02"


@pytest.mark.django_db
def test_a_late_event_does_not_reopen_a_case_closed_after_it(ingest):
    ingest(
        miles_chat(
            external_id="c2", occurred_at="2026-11-23T11:00:00Z", case={"external_id": "T-9", "status": "resolved"}
        )
    )
    ingest(
        miles_chat(
            external_id="c1",
            occurred_at="2026-11-23T09:00:00Z",
            case={"external_id": "T-9", "title": "Card payment failed", "status": "open"},
        )
    )
    case = Case.objects.get()
    assert case.status == "resolved" and case.title == "Card payment failed"
    assert case.opened_at.hour == 9 and case.last_activity_at.hour == 11


def _link_at_once(raw_event_ids) -> list[Exception]:
    """Link each event in a thread (its own database session), all released at the same instant;
    return the errors the threads raised, which would otherwise vanish with them."""
    start = threading.Barrier(len(raw_event_ids))
    errors = []

    def link(raw_event_id):
        try:
            start.wait()
            raw_event_link(raw_event_id=raw_event_id)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=link, args=(raw_event_id,)) for raw_event_id in raw_event_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_parallel_linkers_seeing_one_new_number_create_one_customer():
    """Eight concurrent database sessions link eight events of one new person at the same instant.

    Each event carries the shared phone plus a chat handle of its own, so without the identifier lock
    each session would find no owner and create a customer of its own.
    """
    assert connection.vendor == "postgresql", "the concurrency guarantee is PostgreSQL's"
    workers = 8
    payloads = [
        miles_call(external_id=f"call-{n}", customer={"phone": "(415) 555-0199", "handle": f"caller-{n}"})
        for n in range(workers)
    ]
    assert _link_at_once(stored_normalized(payloads)) == []
    assert Customer.objects.count() == 1
    assert Identifier.objects.filter(kind="handle").count() == workers
    assert Interaction.objects.count() == workers
    assert set(RawEvent.objects.values_list("status", flat=True)) == {RawEventStatus.PROCESSED}


@pytest.mark.django_db(transaction=True)
def test_parallel_linkers_bridging_two_people_in_opposite_orders_end_with_one_customer():
    """Events that each carry a phone and an email, some in one order of discovery and some in the other,
    linked concurrently: whoever comes first, the result is one customer and no deadlock left unhandled."""
    workers = 6
    payloads = []
    for n in range(workers):
        customer = {"phone": "+14155550123", "email": "pat@example.com"} if n % 2 else {"email": "pat@example.com"}
        if n % 3 == 0:
            customer = {"phone": "+14155550123"}
        customer["verified"] = ["phone", "email"]
        payloads.append(miles_call(external_id=f"bridge-{n}", customer=customer))
    assert _link_at_once(stored_normalized(payloads)) == []
    assert Customer.objects.live().count() == 1
    survivor = Customer.objects.live().get()
    assert survivor.interactions.count() == workers
    assert set(survivor.identifiers.values_list("kind", flat=True)) == {"phone", "email"}


@pytest.mark.django_db(transaction=True)
def test_a_link_racing_a_merge_of_its_customer_follows_the_merge():
    """Event A merges M into S; event B reaches M through M's own handle while A is not yet committed.

    B must wait for A, see that M is gone, and land on S — not write M back to life.
    """
    s = customer_link(identifiers=[phone("+14155550100")], traits={}, source="pbx", observed_at=AT).customer
    m = customer_link(
        identifiers=[email("miles@example.com"), ObservedIdentifier("handle", "miles_r")],
        traits={},
        source="chat",
        observed_at=AT,
    ).customer
    merged_not_committed = threading.Event()
    outcome = {}

    def merge_a():
        try:
            with transaction.atomic():
                customer_link(
                    identifiers=[
                        ObservedIdentifier("phone", "+14155550100", verified=True),
                        ObservedIdentifier("email", "miles@example.com", verified=True),
                    ],
                    traits={},
                    source="crm",
                    observed_at=AT,
                )
                merged_not_committed.set()
                time.sleep(0.5)  # B reads M's handle now and queues behind A's row lock on M
        finally:
            merged_not_committed.set()
            connection.close()

    def link_b():
        try:
            merged_not_committed.wait(timeout=10)
            outcome["b"] = customer_link(
                identifiers=[ObservedIdentifier("handle", "miles_r")],
                traits={"language": "en"},
                source="chat",
                observed_at=AT,
            ).customer
        except Exception as exc:
            outcome["error"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=merge_a), threading.Thread(target=link_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert "error" not in outcome, outcome.get("error")
    m.refresh_from_db()
    assert m.merged_into_id == s.pk
    assert outcome["b"].pk == s.pk
    assert Customer.objects.live().count() == 1
    assert Customer.objects.get(pk=s.pk).language == "en"
