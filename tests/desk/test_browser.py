"""The desk in a real headless Chromium (Debian's, driven by Playwright) against gunicorn: an agent logs
in, the page opens on a known caller's number, and a handover they submit appears on the card."""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from channels_ingest.services import canonical_events_accept
from customer_memory.card_cache import card_changed
from customer_memory.models import Customer
from interactions.models import Handover, Promise
from interactions.services import agent_save, promise_create
from tests.personas import MILES_PHONE_E164, dave_profile, miles_call, miles_chat, miles_email_reply, miles_web_visit

pytestmark = pytest.mark.integration

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(os.environ.get("DESK_SCREENSHOT", Path(__file__).resolve().parents[2] / "docs" / "desk.png"))


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


def _miles_calls_after_a_chat():
    """miles's history through the real ingest path: a chat 12 minutes ago that told him to call, and older contacts."""
    now = timezone.now()
    canonical_events_accept(
        payloads=[
            miles_web_visit(occurred_at=iso(now - timedelta(minutes=40))),
            miles_chat(occurred_at=iso(now - timedelta(minutes=12)), attributes={"csat": 4}),
            miles_email_reply(occurred_at=iso(now - timedelta(days=20))),
            miles_call(
                external_id="call-old",
                occurred_at=iso(now - timedelta(days=200)),
                agent={"external_id": "ag-12", "name": "Omar"},
                summary="Updated address",
                customer={
                    "phone": MILES_PHONE_E164,
                    "address": {"line1": "12 Harbour St", "city": "Leith", "postcode": "EH6 6QW", "country": "GB"},
                },
                attributes={"csat": 5},
            ),
        ]
    )
    profile = dave_profile()
    dave, _ = agent_save(
        source="directory", external_id="dave", profile={"name": profile["name"], "expertise": profile["expertise"]}
    )
    # A callback Dave promised this morning and has not made: it must stand out.
    promise = promise_create(
        customer=Customer.objects.get(), owner=dave, kind="callback", due_at=now + timedelta(minutes=1), channel="voice"
    )
    Promise.objects.filter(pk=promise.pk).update(due_at=now - timedelta(hours=1))
    card_changed([promise.customer_id])  # a bulk update sends no signal


def test_an_agent_opens_the_desk_on_a_call_and_hands_over(live_service):
    from playwright.sync_api import sync_playwright

    # All database work happens outside Playwright's event loop (Django refuses ORM calls inside one).
    _miles_calls_after_a_chat()
    User.objects.create_user("agent-sam", password="desk-test-password", is_staff=True)
    desk_url = f"/desk/?phone={quote(MILES_PHONE_E164)}"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(f"{live_service}/admin/login/?next={quote(desk_url)}")
            page.fill("input[name=username]", "agent-sam")
            page.fill("input[name=password]", "desk-test-password")
            page.click("input[type=submit]")
            page.wait_for_selector("[data-testid=greeting]")

            greeting = page.inner_text("[data-testid=greeting]")
            assert greeting.startswith(
                "Welcome back, Miles — eleven years with us. I see you chatted with us 12 minutes ago"
            )
            assert page.inner_text("[data-testid=tenure]").startswith("Customer for 11 years")
            assert "Card payment failed" in page.inner_text("[data-testid=open-cases]")
            last_contact = page.inner_text("[data-testid=last-contact]")
            assert "chat" in last_contact and "12 minutes ago" in last_contact
            assert "asked to call the voice line" in last_contact
            assert "overdue" in page.inner_text("[data-testid=promises]")

            page.select_option("[data-testid=handover-form] select[name=from_agent]", label="Priya")
            page.select_option("[data-testid=handover-form] select[name=to_agent]", label="Dave")
            page.fill("[data-testid=handover-form] textarea[name=note]", "Card blocked by fraud rules; caller verified")
            page.click("[data-testid=handover-form] button[type=submit]")
            page.wait_for_selector("[data-testid=flash]")

            notes = page.inner_text("[data-testid=handover-notes]")
            assert "Priya → Dave" in notes and "Card blocked by fraud rules; caller verified" in notes
            assert "I'd like to introduce you to Dave" in page.inner_text("[data-testid=flash]")

            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()

    assert Handover.objects.get().to_agent.name == "Dave"
