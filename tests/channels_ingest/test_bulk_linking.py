"""Bulk linking (customer_memory.batch_linking): the events of a batch that need no decision of their own
are linked together in a fixed number of statements, with the same outcome as linking them one at a time,
and under real concurrent workers still one customer per person."""

import logging
import multiprocessing
import random
import threading

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_ingest import services as ingest_services
from channels_ingest.choices import RawEventStatus
from channels_ingest.models import RawEvent
from channels_ingest.services import raw_events_process
from customer_memory import card_cache
from customer_memory.models import BlockingKey, Customer, Identifier, MatchCandidate, MatchProfile, Merge, TermCount
from customer_memory.services import advisory_lock_key
from interactions.models import Agent, Case, Interaction
from tests.customer_memory.link_worker import process_batches
from tests.inbox import stored_normalized

pytestmark = pytest.mark.django_db


GIVEN = "Amir Beth Carlos Dana Emeka Fatima Goran Hana Igor Jana Kofi Leila Mateo Nia Oskar Paloma Quinn Rosa Sven Tara"
GIVEN = GIVEN.split()
SURNAMES = (
    "Abbott Becker Castillo Dimitrov Eriksen Fontaine Gallagher Horvat Iwasaki Jovanovic Kaminski Lindqvist "
    "Moreau Nakamura Oyelaran Petrov Quintero Rahman Schultz Takahashi Underwood Valdez Whitaker Xiong Yilmaz "
    "Zielinski Achebe Bianchi Chowdhury Delacroix Esposito Fischer Gonzaga Haddad Ivanova Jensen Kowalczyk "
    "Laurent Mbeki Novak Okonkwo Papadopoulos Rinaldi Sorensen Tanaka Urquhart Vasquez Wojcik Yamamoto Zapata"
).split()


def person_event(n: int, external_id: str, **customer) -> dict:
    return {
        "source": "bulk",
        "external_id": external_id,
        "channel": ("chat", "email", "voice", "web")[n % 4],
        "occurred_at": f"2026-11-{10 + n % 15:02d}T10:{n % 60:02d}:00Z",
        "summary": f"Question {n}",
        "customer": {
            "phone": f"+1415600{n:04d}",
            "first_name": GIVEN[n % len(GIVEN)],
            "last_name": SURNAMES[n % len(SURNAMES)],
            "date_of_birth": f"19{50 + n % 40}-0{1 + n % 9}-1{n % 10}",
            **customer,
        },
        **({"case": {"external_id": f"case-{n}", "title": "Bill"}} if n % 3 == 0 else {}),
    }


def process(ids, size, django_capture_on_commit_callbacks):
    for first in range(0, len(ids), size):
        with django_capture_on_commit_callbacks(execute=True):
            raw_events_process(raw_event_ids=ids[first : first + size])


def test_a_batch_of_new_people_and_known_customers_is_linked_in_a_fixed_number_of_queries(
    django_capture_on_commit_callbacks,
):
    def run(numbers, prefix):
        ids = stored_normalized([person_event(n, f"{prefix}-{n}") for n in numbers])
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            result = raw_events_process(raw_event_ids=ids)
        assert (result.linked, result.failed, result.errors) == (len(ids), 0, 0)
        return len(queries)

    # New people: a customer each, with identifiers, traits, profile and blocking keys.
    small, large = run(range(0, 10), "new"), run(range(10, 50), "new")
    assert small == large  # not one statement more for four times the events
    assert large < 40  # linked one at a time, 40 events take ~20 statements each
    assert Customer.objects.count() == 50 and Identifier.objects.count() == 50
    assert MatchProfile.objects.count() == 50 and BlockingKey.objects.filter(key__startswith="phone:").count() == 50
    customer = Identifier.objects.get(value="+14156000012").customer
    assert (customer.name, customer.preferred_name) == ("Mateo Moreau", "Mateo")
    assert set(customer.traits.values_list("name", flat=True)) == {"first_name", "last_name", "date_of_birth"}
    assert Case.objects.count() == 17 and Interaction.objects.filter(case__isnull=False).count() == 17
    assert TermCount.objects.get(field="surname", value="").count == 50

    # The same people again, now known: no new customer, their cards show the new contact at once.
    card_cache.card_for_customer_id(customer.pk)  # cached
    assert run(range(0, 10), "again") == run(range(10, 50), "again") < 40
    assert Customer.objects.count() == 50 and Interaction.objects.count() == 100
    assert {row.customer_id for row in RawEvent.objects.filter(external_id="again-12")} == {customer.pk}
    card = card_cache.card_for_customer_id(customer.pk)
    assert card["last_contact"]["summary"] == "Question 12" and card["customer"]["name"] == "Mateo Moreau"
    assert Interaction.objects.filter(external_id__startswith="again-", case__isnull=False).count() == 17
    assert Case.objects.count() == 17  # the cases were touched, not repeated


def mixed_stream(seed: int) -> list[dict]:
    """Ten people over six weeks: new identifiers shared between events, one event joining two customers,
    a household (surname and address shared), weak-evidence-only events, cases over several events, a
    known and an unknown agent, and outbound contacts."""
    rng = random.Random(seed)
    people = []
    for n in range(10):
        household = n in (3, 4)
        people.append(
            {
                "phone": f"+1415700{n:04d}",
                "email": f"p{n}@example.com",
                "account_id": f"A-{n}",
                "first_name": ("Ann", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal", "Ivy", "Jo")[n],
                "last_name": "Smith" if household else f"Fam{n}",
                "date_of_birth": f"19{60 + n}-0{1 + n % 9}-15",
                "address": {"line1": "1 High St" if household else f"{n} Elm Rd", "city": "Leeds", "postcode": "LS1"},
            }
        )
    kinds = (("phone",), ("email",), ("phone", "email"), ("account_id", "email"), ("anonymous_id",))
    events = []
    for number in range(70):
        n = rng.randrange(10)
        person = people[n]
        chosen = rng.choice(kinds)
        customer = {k: person[k] for k in chosen if k != "anonymous_id"}
        if "anonymous_id" in chosen:
            customer["anonymous_id"] = f"web-{number}"
        if rng.random() < 0.7 or "anonymous_id" in chosen:
            customer.update({k: person[k] for k in ("first_name", "last_name", "date_of_birth", "address")})
        event = {
            "source": "mixed",
            "external_id": f"e-{number}",
            "channel": rng.choice(("chat", "email", "voice", "web")),
            "occurred_at": f"2026-10-{1 + number % 28:02d}T{8 + number % 10:02d}:00:00Z",
            "customer": customer,
            "summary": f"About {number}",
            "direction": "outbound" if rng.random() < 0.1 else "inbound",
        }
        if rng.random() < 0.4:
            event["case"] = {"external_id": f"case-{n}-{rng.randrange(2)}", "title": "Bill", "status": "open"}
        if rng.random() < 0.3:
            event["agent"] = {"external_id": rng.choice(("ag-known", "ag-new")), "name": "Priya"}
        events.append(event)
    # An event that carries two customers' identifiers (a join).
    events.append(
        {**events[0], "external_id": "join", "customer": {"phone": people[1]["phone"], "email": "p2@example.com"}}
    )
    return events


def outcome() -> dict:
    """What linking decided, independent of generated ids: each live customer by its interactions."""
    customers = {}
    for customer in Customer.objects.live():
        interactions = frozenset(customer.interactions.values_list("external_id", flat=True))
        profile = MatchProfile.objects.filter(customer=customer).values_list("evidence", flat=True).first()
        customers[interactions] = {
            "name": (customer.name, customer.preferred_name, customer.first_seen_at, customer.last_seen_at),
            "identifiers": sorted(customer.identifiers.values_list("kind", "value", "verified", "last_seen_at")),
            "traits": sorted((t.name, str(t.value)) for t in customer.traits.all()),
            "profile": profile,
            "keys": sorted(BlockingKey.objects.filter(customer=customer).values_list("key", flat=True)),
            "cases": sorted(customer.cases.values_list("external_id", "status", "opened_at", "last_activity_at")),
        }
    return {
        "customers": customers,
        "interactions": sorted(
            Interaction.objects.values_list("external_id", "summary", "case__external_id", "agent__external_id")
        ),
        "merges": sorted(Merge.objects.values_list("reason", "rule")),
        "candidates": MatchCandidate.objects.count(),
        "terms": sorted(TermCount.objects.values_list("field", "value", "count")),
        "raw_events": sorted(RawEvent.objects.values_list("external_id", "status")),
    }


def wipe():
    RawEvent.objects.all().delete()
    Customer.objects.all().delete()
    TermCount.objects.all().delete()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bulk_linking_decides_what_linking_one_event_at_a_time_decides(
    seed, settings, django_capture_on_commit_callbacks
):
    Agent.objects.create(source="mixed", external_id="ag-known", name="Priya")
    payloads = mixed_stream(seed)

    settings.INGEST_BULK_LINKING = False
    with CaptureQueriesContext(connection) as one_at_a_time:
        process(stored_normalized(payloads), 10, django_capture_on_commit_callbacks)
    expected = outcome()
    wipe()
    settings.INGEST_BULK_LINKING = True
    with CaptureQueriesContext(connection) as bulk:
        process(stored_normalized(payloads), 10, django_capture_on_commit_callbacks)

    assert outcome() == expected
    assert len(expected["customers"]) < 10 + 5  # linking happened: most people are one customer
    assert expected["merges"], "the stream should make linking merge"
    assert len(bulk) < 0.8 * len(one_at_a_time), (len(bulk), len(one_at_a_time))


def test_events_of_one_person_in_one_batch_keep_their_order():
    phone, email = "+14157770001", "kim@example.com"
    ids = stored_normalized(
        [
            {"source": "order", "external_id": "1", "channel": "chat", "occurred_at": "2026-11-01T10:00:00Z",
             "customer": {"phone": phone, "name": "Kim Old"}},
            {"source": "order", "external_id": "2", "channel": "voice", "occurred_at": "2026-11-01T11:00:00Z",
             "customer": {"phone": phone, "email": email, "name": "Kim New"}},
            {"source": "order", "external_id": "3", "channel": "email", "occurred_at": "2026-11-01T12:00:00Z",
             "customer": {"email": email}},
        ]
    )  # fmt: skip

    raw_events_process(raw_event_ids=ids)

    [kim] = Customer.objects.all()
    assert kim.name == "Kim New" and kim.interactions.count() == 3
    assert sorted(kim.identifiers.values_list("kind", flat=True)) == ["email", "phone"]


def test_a_bulk_that_fails_leaves_every_event_to_linking_one_at_a_time(monkeypatch, caplog):
    first, second = person_event(1, "call-1"), person_event(2, "call-2")
    raw_events_process(raw_event_ids=stored_normalized([first]))
    RawEvent.objects.update(external_id="call-1/1")
    # A second delivery of call-1 that the eligibility check misses (as if another worker recorded it
    # between the check and the insert): the bulk insert hits the unique constraint and rolls back.
    monkeypatch.setattr(ingest_services, "interactions_bulk_eligible", lambda events: [True] * len(events))
    ids = stored_normalized([dict(first, summary="Second delivery"), second])
    RawEvent.objects.filter(id=ids[0]).update(external_id="call-1/2")  # its own delivery of the same call

    with caplog.at_level(logging.WARNING):
        result = raw_events_process(raw_event_ids=ids)

    assert (result.linked, result.errors) == (2, 0)
    assert "bulk linking of 2 events failed" in caplog.text
    assert Interaction.objects.count() == 2 and Customer.objects.count() == 2
    assert Interaction.objects.get(external_id="call-1").summary == "Second delivery"
    assert set(RawEvent.objects.values_list("status", flat=True)) == {RawEventStatus.PROCESSED}


def test_an_event_whose_lock_another_worker_holds_is_linked_after_the_batch_without_holding_it_up():
    """Another transaction holds the advisory lock of one event's phone (it is linking that number now):
    the other nine events are linked in bulk without waiting for it, and that one event waits for the
    lock on its own, in customer_link, and is linked once the lock is free."""
    assert connection.vendor == "postgresql"
    events = [person_event(n, f"held-{n}") for n in range(10)]
    ids = stored_normalized(events)
    other = psycopg.connect(**_conninfo(), autocommit=True)
    other.execute("SELECT pg_advisory_lock(%s)", [advisory_lock_key("identifier:phone:+14156000003")])
    release = threading.Timer(1.0, lambda: other.execute("SELECT pg_advisory_unlock_all()"))
    release.start()
    try:
        with CaptureQueriesContext(connection) as queries:
            result = raw_events_process(raw_event_ids=ids)
    finally:
        release.join()
        other.close()

    assert (result.linked, result.failed, result.errors) == (10, 0, 0)
    statements = [q["sql"] for q in queries]
    waited = [i for i, sql in enumerate(statements) if "pg_advisory_xact_lock(" in sql and "try" not in sql]
    bulk_insert = [i for i, sql in enumerate(statements) if sql.startswith('INSERT INTO "customer_memory_customer"')]
    # One event, not the batch, waited for the lock, in customer_link, after the nine were written in bulk.
    assert len(waited) == 1 and bulk_insert and bulk_insert[0] < waited[0], (waited, bulk_insert)
    assert Customer.objects.count() == 10
    held = Identifier.objects.get(value="+14156000003").customer
    assert held.interactions.count() == 1 and held.name == f"{GIVEN[3]} {SURNAMES[3]}"


def _conninfo() -> dict:
    settings = connection.settings_dict
    return {
        "host": settings["HOST"],
        "port": settings["PORT"] or 5432,
        "user": settings["USER"],
        "dbname": settings["NAME"],
        **({"password": settings["PASSWORD"]} if settings["PASSWORD"] else {}),
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("seed", [1, 2])
def test_concurrent_workers_linking_batches_in_bulk_make_one_customer_per_person(seed):
    """Four worker processes, each processing its own batches of one shared pool of events: twelve people,
    each with a chain of new identifiers over five events, in any order."""
    assert connection.vendor == "postgresql", "the concurrency guarantee is PostgreSQL's"
    payloads = []
    for n in range(12):
        phone, email, handle = f"+1415800{n:04d}", f"c{n}@example.com", f"c{n}_chat"
        chain = [
            {"phone": phone, "verified": ["phone"]},
            {"phone": phone, "email": email, "verified": ["phone", "email"]},
            {"email": email, "handle": handle, "verified": ["email", "handle"]},
            {"handle": handle},
            {"phone": phone, "first_name": f"Given{n}", "last_name": f"Surname{n}"},
        ]
        payloads += [
            {"source": "race", "external_id": f"{n}-{k}", "channel": "chat", "occurred_at": "2026-11-20T10:00:00Z",
             "customer": ids}
            for k, ids in enumerate(chain)
        ]  # fmt: skip
    ids = stored_normalized(payloads)
    random.Random(seed).shuffle(ids)
    batches = [ids[first : first + 10] for first in range(0, len(ids), 10)]
    context = multiprocessing.get_context("spawn")
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    ready, go = context.Semaphore(0), context.Event()
    workers = [
        context.Process(target=process_batches, args=(url, batches[n::4] + batches[(n + 1) % 4 :: 4][:1], ready, go))
        for n in range(4)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        assert ready.acquire(timeout=120), "a worker process did not start"
    go.set()
    for worker in workers:
        worker.join(timeout=180)

    assert [worker.exitcode for worker in workers] == [0] * 4
    assert set(RawEvent.objects.values_list("status", flat=True)) == {RawEventStatus.PROCESSED}
    assert Customer.objects.live().count() == 12
    assert Interaction.objects.count() == len(payloads)
    for n in range(12):
        owners = {e.customer.resolved().pk for e in RawEvent.objects.filter(external_id__startswith=f"{n}-")}
        assert len(owners) == 1, f"person {n}'s events ended on {len(owners)} customers"


def test_known_customers_repeat_contacts_in_a_batch_are_not_matched_again(django_capture_on_commit_callbacks):
    process(
        stored_normalized([person_event(n, f"first-{n}") for n in range(20)]), 20, django_capture_on_commit_callbacks
    )

    def candidate_lookups(events) -> int:
        ids = stored_normalized(events)
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            assert raw_events_process(raw_event_ids=ids).linked == len(events)
        return sum(q["sql"].lstrip().startswith("SELECT array_agg(hit.key)") for q in queries)

    # The same people with what their profiles hold already: nobody is looked up or scored.
    assert candidate_lookups([person_event(n, f"again-{n}") for n in range(20)]) == 0
    # One of them with a date of birth her profile lacks: she is.
    changed = [person_event(n, f"third-{n}") for n in range(20)]
    changed[7]["customer"]["date_of_birth"] = "1999-09-09"
    assert candidate_lookups(changed) == 1
    assert Customer.objects.count() == 20 and Interaction.objects.count() == 60
    assert BlockingKey.objects.filter(key__contains="1999-09-09").exists()
