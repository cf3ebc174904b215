"""Measure how fast the card is served: cold (built from the database) and warm (from the cache), in
process and over the full HTTP stack (Django test client, Bearer token). Prints figures; asserts nothing.

It links a throwaway customer with a long history (source "bench-card") straight through the linking
service, and deletes it, its agent and its API client at the end.
"""

import statistics
import time
import uuid
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.test import Client
from django.utils import timezone

from api.models import ApiClient
from api.services import api_client_create
from channels_ingest.choices import RawEventFormat
from channels_ingest.normalizers import normalize_payload
from customer_memory.card_cache import card_changed, card_for_customer_id, card_for_identifiers
from customer_memory.services import customer_link
from interactions.models import Agent
from interactions.services import interaction_record

SOURCE = "bench-card"


class Command(BaseCommand):
    help = "Print card latency figures (p50 / p95 / mean, ms): cold, warm, and warm over HTTP."

    def add_arguments(self, parser):
        parser.add_argument("--events", type=int, default=500, help="History size of the bench customer.")
        parser.add_argument("--reads", type=int, default=300, help="Reads per measurement.")

    def handle(self, *args, events, reads, **options):
        phone = f"+1202555{uuid.uuid4().int % 10000:04d}"
        customer = self._customer_with_history(phone, events)
        client_row, token = api_client_create(name=f"{SOURCE}-{uuid.uuid4().hex[:6]}", scopes=["card:read"])
        http = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        try:
            self._report(
                f"cold, by id ({events} events)",
                reads,
                lambda: card_changed([customer.pk]),
                lambda: card_for_customer_id(customer.pk),
            )
            card_for_identifiers([("phone", phone)])
            self._report("warm, by phone, in process", reads, None, lambda: card_for_identifiers([("phone", phone)]))
            self._report("warm, by id, in process", reads, None, lambda: card_for_customer_id(customer.pk))
            self._report(
                "warm, by phone, HTTP (auth + DRF + JSON)",
                reads,
                None,
                lambda: http.get("/api/v1/card", {"phone": phone}),
            )
            self._report(
                "warm, by phone, HTTP ?format=text",
                reads,
                None,
                lambda: http.get("/api/v1/card", {"phone": phone, "format": "text"}),
            )
        finally:
            customer.delete()
            Agent.objects.filter(source=SOURCE).delete()
            ApiClient.objects.filter(pk=client_row.pk).delete()

    def _customer_with_history(self, phone: str, events: int):
        now = timezone.now()
        customer = None
        for n in range(events):
            payload = {
                "source": SOURCE,
                "external_id": f"{phone}-{n}",
                "channel": ("chat", "voice", "email", "web")[n % 4],
                "direction": "outbound" if n % 5 == 0 else "inbound",
                "occurred_at": (now - timedelta(hours=events - n)).isoformat(),
                "customer": {"phone": phone, "name": "Bench Customer", "address": {"line1": f"{n} Bench St"}},
                "summary": f"Contact {n}: card payment failed; asked to call",
                "case": {"external_id": f"{phone}-case-{n % 40}", "title": f"Case {n % 40}", "status": "open"},
                "agent": {"external_id": f"agent-{n % 7}", "name": f"Agent {n % 7}"},
                "attributes": {"csat": 1 + n % 5},
            }
            event = normalize_payload(RawEventFormat.CANONICAL, payload)
            link = customer_link(
                identifiers=event.identifiers, traits=event.traits, source=SOURCE, observed_at=event.occurred_at
            )
            interaction_record(customer=link.customer, event=event)
            customer = link.customer
        return customer

    def _report(self, label: str, reads: int, before, read) -> None:
        timings = []
        for _ in range(reads):
            if before:
                before()
            start = time.perf_counter()
            read()
            timings.append((time.perf_counter() - start) * 1000)
        timings.sort()
        p95 = timings[int(len(timings) * 0.95) - 1]
        self.stdout.write(
            f"{label:45s} p50 {statistics.median(timings):7.3f} ms   p95 {p95:7.3f} ms   "
            f"mean {statistics.fmean(timings):7.3f} ms   ({reads} reads)"
        )
