"""/api/v1/agents, introductions and suggested agents."""

import pytest

from customer_memory.models import Customer
from interactions.models import Agent
from tests.personas import dave_profile, miles_chat, priya_profile

pytestmark = pytest.mark.django_db

AGENTS = "/api/v1/agents"


def test_an_agent_profile_is_created(team_desk):
    response = team_desk.post(AGENTS, dave_profile(), format="json")

    assert response.status_code == 201, response.content
    agent = response.json()
    assert agent["name"] == "Dave" and agent["expertise"] == ["card payments", "billing"]
    assert agent["tenure"].startswith("has been with us for ")
    assert Agent.objects.get(pk=agent["id"]).personal_line == "Restores old bicycles at the weekend."


def test_posting_an_agent_seen_in_events_fills_their_profile(team_desk, ingest):
    ingest(miles_chat())  # names agent ag-5 "Priya" of source helpdesk
    seen = Agent.objects.get()

    response = team_desk.post(AGENTS, priya_profile(), format="json")

    assert response.status_code == 200
    assert response.json()["id"] == str(seen.id)
    seen.refresh_from_db()
    assert seen.languages == ["en", "hi"] and Agent.objects.count() == 1


def test_agents_are_listed_for_card_readers(desk, team_desk):
    team_desk.post(AGENTS, dave_profile(), format="json")

    response = desk.get(AGENTS)

    assert response.status_code == 200
    assert [a["name"] for a in response.json()["results"]] == ["Dave"]


def test_a_card_reader_may_not_write_agents(desk):
    response = desk.post(AGENTS, dave_profile(), format="json")

    assert response.status_code == 403
    assert "agents:write" in response.json()["detail"]
    assert not Agent.objects.exists()


def test_a_bad_profile_is_refused_with_the_field_named(team_desk):
    response = team_desk.post(
        AGENTS, dave_profile(started_at="2999-01-01", photo_url="javascript:alert(1)"), format="json"
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"started_at", "photo_url"}
    assert not Agent.objects.exists()


def test_an_agent_profile_is_updated_with_patch(team_desk):
    agent_id = team_desk.post(AGENTS, dave_profile(), format="json").json()["id"]

    response = team_desk.patch(f"{AGENTS}/{agent_id}", {"languages": ["en"]}, format="json")

    assert response.status_code == 200
    assert response.json()["languages"] == ["en"] and response.json()["name"] == "Dave"


def test_the_introduction_endpoint_gives_text_html_and_the_agent(desk, team_desk, ingest):
    ingest(miles_chat())
    customer = Customer.objects.get()
    agent_id = team_desk.post(AGENTS, dave_profile(), format="json").json()["id"]

    response = desk.get(f"{AGENTS}/{agent_id}/introduction", {"customer": str(customer.id)})

    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"text", "html", "agent"}
    assert body["text"].startswith("Hello Miles, this is Dave, who will be helping you with card payment failed.")
    assert body["agent"]["photo_url"] == "https://cdn.example.com/agents/dave.jpg"
    assert 'alt="Dave"' in body["html"]


def test_an_introduction_for_an_unknown_customer_or_agent_is_404(desk, team_desk):
    agent_id = team_desk.post(AGENTS, dave_profile(), format="json").json()["id"]

    unknown_customer = desk.get(
        f"{AGENTS}/{agent_id}/introduction", {"customer": "00000000-0000-0000-0000-000000000000"}
    )
    unknown_agent = desk.get(f"{AGENTS}/not-an-id/introduction")

    assert unknown_customer.status_code == 404 and "no customer" in unknown_customer.json()["detail"]
    assert unknown_agent.status_code == 404 and "no agent" in unknown_agent.json()["detail"]


def test_suggested_agents_for_a_customer(desk, team_desk, ingest):
    ingest(miles_chat(attributes={"csat": 5}))
    team_desk.post(AGENTS, dave_profile(), format="json")
    customer = Customer.objects.get()

    response = desk.get(f"/api/v1/customers/{customer.id}/suggested-agents")

    assert response.status_code == 200
    ranked = response.json()
    assert [r["agent"]["name"] for r in ranked] == ["Priya", "Dave"]
    assert ranked[0]["reasons"] == ["helped Miles 1 time before (average CSAT 5.0)"]
    assert ranked[1]["reasons"] == ["knows card payments, which the open case is about"]
