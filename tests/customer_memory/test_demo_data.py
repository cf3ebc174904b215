from io import StringIO

import pytest
from django.core.management import call_command

from channels_ingest.models import RawEvent
from customer_memory.card import customer_card
from customer_memory.models import Customer
from customer_memory.selectors import customer_by_identifier
from interactions.models import Interaction

pytestmark = pytest.mark.django_db


def load(django_capture_on_commit_callbacks) -> str:
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo_data", "--url", "http://127.0.0.1:8000", "--force", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_the_demo_serves_a_card_for_the_demo_caller(django_capture_on_commit_callbacks, desk):
    output = load(django_capture_on_commit_callbacks)

    miles = customer_by_identifier("phone", "(415) 555-0100")
    card = customer_card(miles)
    assert card["customer"]["name"] == "Miles Reed"
    assert card["tenure"]["years"] >= 10
    assert card["last_contact"]["channel"] == "chat" and card["last_contact"]["ago"] == "12 minutes ago"
    assert {i["channel"] for i in card["recent_interactions"]} >= {"chat", "voice", "email", "web"}
    assert set(RawEvent.objects.values_list("status", flat=True)) == {"processed"}
    token = output.strip().splitlines()[-1].removeprefix("API token: ")
    desk.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert desk.get("/api/v1/card", {"phone": "(415) 555-0100"}).json()["customer"]["id"] == str(miles.id)


def test_loading_the_demo_twice_doubles_nothing(django_capture_on_commit_callbacks):
    load(django_capture_on_commit_callbacks)
    counts = (Customer.objects.count(), Interaction.objects.count(), RawEvent.objects.count())

    output = load(django_capture_on_commit_callbacks)

    assert (Customer.objects.count(), Interaction.objects.count(), RawEvent.objects.count()) == counts
    assert "0 new" in output


def test_the_demo_gives_the_desk_agent_profiles_and_a_promise(django_capture_on_commit_callbacks):
    from interactions.models import Agent, Promise

    output = load(django_capture_on_commit_callbacks)
    load(django_capture_on_commit_callbacks)

    assert "Desk:   http://127.0.0.1:8000/desk/?phone=%28415%29%20555-0100" in output
    dave = Agent.objects.get(source="pbx", external_id="ag-12")
    assert dave.expertise == ["card payments", "billing"] and dave.started_at is not None
    miles = customer_by_identifier("phone", "(415) 555-0100")
    assert Promise.objects.filter(customer=miles).count() == 1  # a second load adds none
    assert customer_card(miles)["promises"][0]["owner"]["name"] == "Dave"
