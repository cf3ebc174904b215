"""`make run`'s demo: a few customers loaded through the real ingest path, an admin login and an API token.

Running it again is harmless. Every demo event has a stable (source, external_id), so the inbox answers a
second load as duplicates and stores nothing (the stored events keep the times of the first load). The
admin user is created only when missing. The `demo` API client gets a new token on each run; the old one
stops working.
"""

import logging
import os
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from api.scopes import Scope
from api.services import api_client_create
from channels_ingest.models import RawEvent
from channels_ingest.services import canonical_events_accept
from customer_memory.choices import IdentifierKind
from customer_memory.selectors import customer_by_identifier
from interactions.models import Promise
from interactions.services import agent_save, promise_create

ADMIN_USERNAME = "admin"
DEFAULT_ADMIN_PASSWORD = "admin"
DEMO_CLIENT_NAME = "demo"
MILES_PHONE_NATIONAL = "(415) 555-0100"


def demo_events(*, now) -> list[dict]:
    """The demo data set as canonical events, times relative to `now`; each customer's oldest first.

    - miles: ten-year customer; a call last year, a card email, then today a help page and a chat about a
      failed card payment 12 minutes ago, where he was told to call: his next call is the demo.
    - ada: emailed about a double charge; a thread with an agent, case resolved, CSAT 5.
    - grace: known by her account id; an open-ended call and a follow-up email.
    - jordan: newer, web only: anonymous page views, then a sign-up.
    Agents: Priya (chat), Dave (voice), Tom (email).
    """

    def ago(**delta) -> str:
        return (now - timedelta(**delta)).replace(microsecond=0).isoformat()

    priya = {"external_id": "ag-5", "name": "Priya"}
    dave = {"external_id": "ag-12", "name": "Dave"}
    tom = {"external_id": "ag-7", "name": "Tom"}
    return [
        # --- miles: ten-year customer; last year a call, then a card email, today a help page and a chat.
        {
            "source": "pbx",
            "external_id": "demo-call-1001",
            "channel": "voice",
            "type": "call",
            "occurred_at": ago(days=400),
            "customer": {
                "phone": "+1 415 555 0100",
                "email": "miles@example.com",
                "verified": ["phone"],
                "name": "Miles Reed",
                "first_name": "Miles",
                "last_name": "Reed",
                "customer_since": "2015-04-02",
                "language": "en",
                "address": {"line1": "12 Harbour St", "city": "Leith", "postcode": "EH6 6QW", "country": "GB"},
            },
            "summary": "Moved house; updated his address to 12 Harbour St, Leith",
            "case": {"external_id": "C-3120", "title": "Address change", "status": "resolved"},
            "agent": dave,
            "attributes": {"duration_seconds": 312},
        },
        {
            "source": "mailbox",
            "external_id": "demo-mail-1002",
            "channel": "email",
            "type": "message",
            "direction": "outbound",
            "occurred_at": ago(days=5),
            "customer": {"email": "miles@example.com"},
            "summary": "Your replacement card is on its way",
            "attributes": {"subject": "Your new card has been dispatched"},
        },
        {
            "source": "website",
            "external_id": "demo-web-1003",
            "channel": "web",
            "type": "page",
            "occurred_at": ago(minutes=19),
            "customer": {"email": "miles@example.com", "anonymous_id": "anon-7c1e"},
            "summary": "Viewed Help: why was my card payment declined?",
            "attributes": {"url": "https://example.com/help/card-declined"},
        },
        {
            "source": "helpdesk",
            "external_id": "demo-chat-1004",
            "channel": "chat",
            "type": "conversation",
            "occurred_at": ago(minutes=12),
            "customer": {
                "phone": MILES_PHONE_NATIONAL,
                "email": "Miles@Example.com",
                "handle": "miles_r",
                "name": "Miles Reed",
                "first_name": "Miles",
                "customer_since": "2015-04-02",
            },
            "summary": "Card payment failed; asked to call the voice line",
            "case": {"external_id": "T-9", "title": "Card payment failed", "status": "open"},
            "agent": priya,
            "attributes": {"messages": 9, "duration_seconds": 420},
        },
        # --- ada: an email thread with an agent; the case is resolved.
        {
            "source": "mailbox",
            "external_id": "demo-mail-2001",
            "channel": "email",
            "type": "message",
            "occurred_at": ago(days=9, hours=3),
            "customer": {
                "email": "ada@example.org",
                "name": "Ada Byron",
                "first_name": "Ada",
                "customer_since": "2021-09-14",
            },
            "summary": "Charged twice for invoice INV-2291",
            "case": {"external_id": "Z-3107", "title": "Charged twice on invoice INV-2291", "status": "open"},
            "attributes": {"subject": "Charged twice for INV-2291?"},
        },
        {
            "source": "mailbox",
            "external_id": "demo-mail-2002",
            "channel": "email",
            "type": "message",
            "direction": "outbound",
            "occurred_at": ago(days=8, hours=22),
            "customer": {"email": "ada@example.org"},
            "summary": "Confirmed the duplicate charge and refunded $42.00",
            "case": {"external_id": "Z-3107", "status": "pending"},
            "agent": tom,
            "attributes": {"subject": "Re: Charged twice for INV-2291?"},
        },
        {
            "source": "mailbox",
            "external_id": "demo-mail-2003",
            "channel": "email",
            "type": "message",
            "occurred_at": ago(days=6, hours=5),
            "customer": {"email": "ada@example.org"},
            "summary": "Refund received, thanks",
            "case": {"external_id": "Z-3107", "status": "resolved"},
            "attributes": {"subject": "Re: Re: Charged twice for INV-2291?", "csat": 5},
        },
        # --- grace: known by her account id, on the phone and by email.
        {
            "source": "pbx",
            "external_id": "demo-call-4001",
            "channel": "voice",
            "type": "call",
            "occurred_at": ago(days=3, hours=2),
            "customer": {
                "account_id": "A-2047",
                "phone": "+44 20 7946 0958",
                "verified": ["account_id"],
                "name": "Grace Okafor",
                "first_name": "Grace",
                "customer_since": "2019-06-10",
            },
            "summary": "Wants her direct debit moved to the 15th; sent her the signed-form link",
            "case": {"external_id": "C-5520", "title": "Change direct debit date", "status": "pending"},
            "agent": dave,
            "attributes": {"duration_seconds": 486},
        },
        {
            "source": "mailbox",
            "external_id": "demo-mail-4002",
            "channel": "email",
            "type": "message",
            "occurred_at": ago(days=2, hours=20),
            "customer": {"email": "grace.okafor@example.com", "account_id": "A-2047"},
            "summary": "Sent the signed direct debit form",
            "attributes": {"subject": "Direct debit form (account A-2047)", "attachments": 1},
        },
        # --- jordan: web only, first anonymous, then identified at sign-up.
        {
            "source": "website",
            "external_id": "demo-web-3001",
            "channel": "web",
            "type": "page",
            "occurred_at": ago(days=65, minutes=10),
            "customer": {"anonymous_id": "anon-3f9a"},
            "summary": "Viewed Pricing",
            "attributes": {"url": "https://example.com/pricing"},
        },
        {
            "source": "website",
            "external_id": "demo-web-3002",
            "channel": "web",
            "type": "track",
            "occurred_at": ago(days=65),
            "customer": {
                "anonymous_id": "anon-3f9a",
                "user_id": "u-88231",
                "email": "jordan.lee@example.net",
                "name": "Jordan Lee",
                "first_name": "Jordan",
            },
            "summary": "Signed up for the Basic plan",
            "attributes": {"event": "Signed Up", "plan": "basic"},
        },
        {
            "source": "website",
            "external_id": "demo-web-3003",
            "channel": "web",
            "type": "page",
            "occurred_at": ago(days=4),
            "customer": {"user_id": "u-88231"},
            "summary": "Viewed Help: adding a second user",
            "attributes": {"url": "https://example.com/help/second-user"},
        },
    ]


class Command(BaseCommand):
    help = (
        "Load the demo data set through the ingest path, ensure an admin login (username admin, password "
        "DEMO_ADMIN_PASSWORD or admin) and print a fresh token of the `demo` API client. Safe to re-run."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000", help="Where the server will listen, for the printed links."
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Create the admin user with a weak password even when DEBUG is off on a non-SQLite database.",
        )

    def handle(self, *args, url, force, **options):
        base = url.rstrip("/")
        # In embedded mode the tasks run here, eagerly: a success line per task would bury the summary below.
        # Task failures are logged at ERROR and still show.
        with _quiet("celery.app.trace", "kombu.connection"):
            accepted = canonical_events_accept(payloads=demo_events(now=timezone.now()))
        new = sum(not event.duplicate for event in accepted)
        statuses = dict(
            RawEvent.objects.filter(id__in=[event.id for event in accepted])
            .order_by()
            .values_list("status")
            .annotate(count=Count("id"))
        )
        admin_line = self._admin_ensure(force=force)
        _desk_demo_ensure()
        _, token = api_client_create(name=DEMO_CLIENT_NAME, scopes=[Scope.ALL])
        miles = customer_by_identifier(IdentifierKind.PHONE, MILES_PHONE_NATIONAL)

        auth = f'-H "Authorization: Bearer {token}"'
        out = self.stdout.write
        out("")
        out(self.style.SUCCESS("Customer memory demo is ready."))
        out(f"  API:    {base}/api/v1/")
        out(f"  Docs:   {base}/api/docs/")
        out(f"  Admin:  {base}/admin/")
        out(f"  Desk:   {base}/desk/?phone={quote(MILES_PHONE_NATIONAL, safe='')}  (log in as the admin user)")
        out(f"Admin login: {admin_line}")
        out("")
        out(
            f"Demo data: {len(accepted)} events, {new} new, {len(accepted) - new} already loaded; "
            + ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
            + "."
        )
        if new < len(accepted):
            out("  Loaded before: the stored events keep the times of that first load. To start over, delete")
            out("  the database (db.sqlite3 in embedded mode) and run `make run` again.")
        if statuses.get("pending"):
            out("  Pending events wait for a Celery worker: run `make worker` (REDIS_URL / CELERY_BROKER_URL set).")
        out("  Customers: Miles Reed (phone (415) 555-0100, customer since 2015, chatted today), Ada Byron")
        out("  (email=ada@example.org, resolved case), Grace Okafor (account=A-2047), Jordan Lee (user_id=u-88231).")
        out("")
        out("Try it:")
        out(f'  curl {auth} "{base}/api/v1/card?phone={quote(MILES_PHONE_NATIONAL, safe="")}"')
        if miles:
            out(f'  curl {auth} "{base}/api/v1/customers/{miles.id}/timeline"')
        else:
            out("  (Miles's timeline: once his events are processed, use customer.id from the card above in")
            out(f'   curl {auth} "{base}/api/v1/customers/CUSTOMER_ID/timeline")')
        out("")
        out(f"API token: {token}")

    def _admin_ensure(self, *, force: bool) -> str:
        """Create the `admin` superuser if it does not exist; return the login line to print.

        A weak demo password is refused when this looks like a production database (DEBUG off, not
        SQLite), unless --force: a demo must not leave admin/admin on a real deployment.
        """
        user_model = get_user_model()
        if user_model.objects.filter(username=ADMIN_USERNAME).exists():
            return f"{ADMIN_USERNAME} (user already existed; its password was left as it was)"
        password = os.environ.get("DEMO_ADMIN_PASSWORD") or DEFAULT_ADMIN_PASSWORD
        if not settings.DEBUG and connection.vendor != "sqlite" and not force:
            try:
                validate_password(password, user_model(username=ADMIN_USERNAME))
            except ValidationError as exc:
                self.stderr.write(
                    self.style.WARNING(
                        f"Not creating the {ADMIN_USERNAME!r} user: DEBUG is off and the database is "
                        f"{connection.vendor}, so this may be a production database, and the demo password is weak "
                        f"({' '.join(exc.messages)}). Run `manage.py createsuperuser`, set a strong "
                        "DEMO_ADMIN_PASSWORD, or pass --force."
                    )
                )
                return "none created (see the warning above)"
        user_model.objects.create_superuser(username=ADMIN_USERNAME, email="", password=password)
        shown = password if password == DEFAULT_ADMIN_PASSWORD else "the DEMO_ADMIN_PASSWORD you set"
        return f"{ADMIN_USERNAME} / {shown}"


# The demo's agents as the agents API would describe them (source and external id as the events name them).
DEMO_AGENT_PROFILES = [
    (
        "pbx",
        "ag-12",
        {
            "name": "Dave",
            "expertise": ["card payments", "billing"],
            "languages": ["en", "es"],
            "personal_line": "Restores old bicycles at the weekend.",
            "started_at": "2018-03-01",
        },
    ),
    (
        "helpdesk",
        "ag-5",
        {
            "name": "Priya",
            "expertise": ["chat support"],
            "languages": ["en", "hi"],
            "personal_line": "Runs the office book club.",
            "started_at": "2024-02-01",
        },
    ),
    ("mailbox", "ag-7", {"name": "Tom", "expertise": ["invoices"], "languages": ["en"], "started_at": "2021-09-15"}),
]


def _desk_demo_ensure() -> None:
    """Agent profiles, and a callback owed to Miles (only when none is outstanding), for the desk."""
    from datetime import date

    agents = {}
    for source, external_id, profile in DEMO_AGENT_PROFILES:
        profile = {**profile, "started_at": date.fromisoformat(profile["started_at"])}
        agents[profile["name"]], _ = agent_save(source=source, external_id=external_id, profile=profile)
    miles = customer_by_identifier(IdentifierKind.PHONE, MILES_PHONE_NATIONAL)
    if miles and not Promise.objects.filter(customer=miles).outstanding().exists():
        promise_create(
            customer=miles,
            owner=agents["Dave"],
            kind="follow_up",
            channel="email",
            due_at=timezone.now() + timedelta(days=1),
            note="Confirm the replacement card arrived",
        )


@contextmanager
def _quiet(*logger_names):
    """Raise these loggers to ERROR for the duration of the block."""
    loggers = [logging.getLogger(name) for name in logger_names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
