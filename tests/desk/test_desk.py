"""/desk/: the agent's page, server-rendered (Django test client; the browser test is test_browser.py)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from customer_memory.models import Customer
from interactions.models import Agent, Case, Handover, Promise
from tests.personas import MILES_PHONE_E164, miles_chat

pytestmark = pytest.mark.django_db


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def agent_browser(client):
    """An agent logged in to Django with a staff account."""
    user = User.objects.create_user("sam", password="pw-for-tests", is_staff=True)
    client.force_login(user)
    return client


@pytest.fixture
def miles(ingest):
    ingest(miles_chat(occurred_at=iso(timezone.now() - timedelta(minutes=12))))
    Agent.objects.create(source="directory", external_id="dave", name="Dave")
    return Customer.objects.get()


def test_the_desk_opens_on_the_callers_number(agent_browser, miles):
    response = agent_browser.get("/desk/", {"phone": MILES_PHONE_E164})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Welcome back, Miles — eleven years with us. I see you chatted with us 12 minutes ago" in page
    assert "Customer for 11 years" in page
    assert "Card payment failed" in page
    assert 'data-testid="continuation"' in page


def test_an_unknown_caller_gets_a_clear_page(agent_browser, miles):
    page = agent_browser.get("/desk/", {"phone": "+12125550199"}).content.decode()

    assert "Unknown caller" in page and "+12125550199" in page


def test_what_customers_wrote_is_escaped(agent_browser, ingest):
    ingest(miles_chat(summary='<img src=x onerror="alert(1)"> please call'))

    page = agent_browser.get("/desk/", {"phone": MILES_PHONE_E164}).content.decode()

    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; please call" in page


def test_a_handover_from_the_desk_lands_on_the_card(agent_browser, miles, django_capture_on_commit_callbacks):
    agent_browser.get("/desk/", {"phone": MILES_PHONE_E164})  # the card is cached
    form = {
        "customer": str(miles.id),
        "case": str(Case.objects.get().id),
        "from_agent": str(Agent.objects.get(name="Priya").id),
        "to_agent": str(Agent.objects.get(name="Dave").id),
        "note": "Fraud block; customer verified",
    }

    with django_capture_on_commit_callbacks(execute=True):  # the request's transaction commits
        posted = agent_browser.post("/desk/handovers", form)
    assert posted.status_code == 302
    response = agent_browser.get(posted["Location"])

    page = response.content.decode()
    assert "Handed over to Dave. Say: Miles, I&#x27;d like to introduce you to Dave." in page
    assert "Fraud block; customer verified" in page
    assert Handover.objects.get().note == "Fraud block; customer verified"


def test_a_promise_from_the_desk_is_stored(agent_browser, miles, django_capture_on_commit_callbacks):
    due = (timezone.now() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    form = {"customer": str(miles.id), "kind": "callback", "due_at": due, "channel": "voice", "owner": "", "case": ""}

    with django_capture_on_commit_callbacks(execute=True):
        response = agent_browser.post("/desk/promises", form, follow=True)

    assert "Callback promised for" in response.content.decode()
    assert Promise.objects.get().channel == "voice"


def test_a_bad_promise_shows_the_reason_and_stores_nothing(agent_browser, miles):
    form = {"customer": str(miles.id), "kind": "callback", "due_at": "2020-01-01T10:00"}

    response = agent_browser.post("/desk/promises", form)

    assert response.status_code == 400
    assert "The due time is in the past." in response.content.decode()
    assert not Promise.objects.exists()


def test_the_desk_needs_a_staff_login(client, miles):
    response = client.get("/desk/", {"phone": MILES_PHONE_E164})

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/?next=/desk/")


def test_a_card_reading_token_may_open_the_desk(desk, helpdesk, miles):
    assert desk.get("/desk/", {"phone": MILES_PHONE_E164}).status_code == 200
    assert helpdesk.get("/desk/", {"phone": MILES_PHONE_E164}).status_code == 403
