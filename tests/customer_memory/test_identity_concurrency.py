"""The concurrency guarantee with real parallel worker processes on PostgreSQL: whatever the order in which
several processes link one person's events (new identifiers shared between events, or only weak evidence),
each person ends as exactly one customer."""

import multiprocessing
import random
import time

import pytest
from django.db import connection, transaction

from channels_ingest.choices import RawEventStatus
from channels_ingest.models import RawEvent
from channels_ingest.services import raw_event_link
from customer_memory.models import Customer
from tests.customer_memory.link_worker import link_events
from tests.inbox import stored_normalized

PEOPLE = {
    "ines": {
        "first_name": "Inês",
        "last_name": "Carvalho",
        "date_of_birth": "1979-05-04",
        "address": {"line1": "3 Rua Nova", "city": "Porto", "postcode": "4000-123"},
    },
    "tom": {
        "first_name": "Tom",
        "last_name": "Baker",
        "date_of_birth": "1962-01-20",
        "address": {"line1": "9 Elm Road", "city": "Leeds", "postcode": "LS1 4AP"},
    },
    "yuki": {
        "first_name": "Yuki",
        "last_name": "Sato",
        "date_of_birth": "1991-12-01",
        "address": {"line1": "1 Kita St", "city": "Leith", "postcode": "EH6 7AA"},
    },
}


def events_of(name: str, number: int) -> list[dict]:
    """Seven events of one person: a chain of new phone, email and handle shared between events (verified,
    so they join), and four that carry only the person's name, date of birth and address."""
    person = PEOPLE[name]
    phone, email, handle = f"+1415555{number:04d}", f"{name}@example.com", f"{name}_chat"
    identifiers = [
        {"phone": phone, "verified": ["phone"]},
        {"phone": phone, "email": email, "verified": ["phone", "email"]},
        {"email": email, "handle": handle, "verified": ["email", "handle"]},
    ] + [{"anonymous_id": f"{name}-web-{n}"} for n in range(4)]
    return [
        {
            "source": "race",
            "external_id": f"{name}-{n}",
            "channel": "web",
            "occurred_at": "2026-11-20T10:00:00Z",
            "customer": {**person, **ids},
        }
        for n, ids in enumerate(identifiers)
    ]


class Workers:
    """Spawned worker processes on the test database, started and released together."""

    def __init__(self, batches: list[list[str]]):
        context = multiprocessing.get_context("spawn")
        settings = connection.settings_dict
        url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
        self.ready, self.go = context.Semaphore(0), context.Event()
        self.processes = [
            context.Process(target=link_events, args=(url, batch, self.ready, self.go)) for batch in batches
        ]
        for process in self.processes:
            process.start()
        for _ in self.processes:
            assert self.ready.acquire(timeout=120), "a worker process did not start"

    def run(self) -> list[int]:
        self.go.set()
        for process in self.processes:
            process.join(timeout=120)
        return [process.exitcode for process in self.processes]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("seed", [1, 2])
def test_worker_processes_linking_in_any_order_make_one_customer_per_person(seed):
    assert connection.vendor == "postgresql", "the concurrency guarantee is PostgreSQL's"
    ids = stored_normalized([event for number, name in enumerate(PEOPLE) for event in events_of(name, number)])
    random.Random(seed).shuffle(ids)
    workers = 4

    assert Workers([ids[n::workers] for n in range(workers)]).run() == [0] * workers

    assert set(RawEvent.objects.values_list("status", flat=True)) == {RawEventStatus.PROCESSED}
    assert Customer.objects.live().count() == len(PEOPLE)
    for name in PEOPLE:
        owners = {event.customer.resolved().pk for event in RawEvent.objects.filter(external_id__startswith=name)}
        assert len(owners) == 1, f"{name}'s events ended on {len(owners)} customers"


@pytest.mark.django_db(transaction=True)
def test_processes_racing_an_uncommitted_new_person_on_weak_evidence_wait_and_join_it():
    """One linker has created a new person (not yet committed) from a name, date of birth and address;
    four worker processes link events of the same person, sharing no identifier with it, meanwhile.

    No constraint can settle this race: the advisory locks on the blocking keys must make the workers wait
    and then find the new customer, or each would find nobody and create a customer of its own.
    """
    payloads = [
        {
            "source": "race",
            "external_id": f"weak-{n}",
            "channel": "web",
            "occurred_at": "2026-11-20T10:00:00Z",
            "customer": {**PEOPLE["tom"], "anonymous_id": f"tom-device-{n}"},
        }
        for n in range(5)
    ]
    first, *others = stored_normalized(payloads)
    workers = Workers([[raw_event_id] for raw_event_id in others])

    with transaction.atomic():
        raw_event_link(raw_event_id=first)
        workers.go.set()
        time.sleep(1.5)  # the workers are linking now: blocked on the locks, or racing past them
        print("PARENT commit", time.time())
    assert workers.run() == [0] * len(others)

    from customer_memory.models import Merge

    print(
        "DEBUG",
        Customer.objects.count(),
        Customer.objects.live().count(),
        list(Merge.objects.values_list("reason", "created_at")),
    )
    assert Customer.objects.live().count() == 1
    assert Customer.objects.live().get().interactions.count() == len(payloads)
