"""POST /api/v1/handovers: the note lands on the next agent's card, the answer carries the script."""

import pytest

from customer_memory.models import Customer
from interactions.models import Agent, Case, Handover
from tests.personas import MILES_PHONE_E164, dave_profile, miles_chat

pytestmark = pytest.mark.django_db

HANDOVERS = "/api/v1/handovers"


@pytest.fixture
def transfer(ingest, team_desk):
    """miles's open chat case with Priya, and Dave to hand it to."""
    ingest(miles_chat())
    dave = team_desk.post("/api/v1/agents", dave_profile(), format="json").json()
    return {
        "case_id": str(Case.objects.get().id),
        "from_agent_id": str(Agent.objects.get(name="Priya").id),
        "to_agent_id": dave["id"],
        "note": "Card blocked by fraud rules; customer verified by phone",
    }


def test_a_handover_answers_with_the_introduction_script(team_desk, transfer):
    response = team_desk.post(HANDOVERS, transfer, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["script"].startswith("Miles, I'd like to introduce you to Dave. Dave, Miles has been with us for ")
    assert body["script"].endswith("Miles, I'll leave you in Dave's capable hands.")
    assert (body["from_agent"], body["to_agent"]) == ("Priya", "Dave")
    assert body["customer_id"] == str(Customer.objects.get().id)
    assert Handover.objects.get().note == transfer["note"]


def test_the_handover_note_is_on_the_next_agents_card(team_desk, desk, transfer, django_capture_on_commit_callbacks):
    desk.get("/api/v1/card", {"phone": MILES_PHONE_E164})  # a card in the cache before the handover

    with django_capture_on_commit_callbacks(execute=True):  # the request's transaction commits
        team_desk.post(HANDOVERS, transfer, format="json")

    notes = desk.get("/api/v1/card", {"phone": MILES_PHONE_E164}).json()["handover_notes"]
    assert [(n["to_agent"], n["note"]) for n in notes] == [("Dave", transfer["note"])]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"case_id": "00000000-0000-0000-0000-000000000000"}, "case_id"),
        ({"to_agent_id": "not-a-uuid"}, "to_agent_id"),
        ({"note": ""}, "note"),
    ],
)
def test_a_bad_handover_is_refused_and_nothing_is_stored(team_desk, transfer, change, field):
    response = team_desk.post(HANDOVERS, {**transfer, **change}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{field}:")
    assert not Handover.objects.exists()


def test_an_agent_cannot_hand_over_to_themselves(team_desk, transfer):
    response = team_desk.post(HANDOVERS, {**transfer, "to_agent_id": transfer["from_agent_id"]}, format="json")

    assert response.status_code == 400
    assert "another agent" in response.json()["detail"]


def test_a_card_reader_may_not_hand_over(desk, transfer):
    assert desk.post(HANDOVERS, transfer, format="json").status_code == 403
