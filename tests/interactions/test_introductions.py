"""Warm introductions, the handover script and suggested agents, from profiles and ingested history."""

from datetime import UTC, date, datetime

import pytest

from customer_memory.models import Customer
from interactions.introductions import agent_introduction, handover_script
from interactions.models import Agent, Case
from interactions.selectors import suggested_agents
from interactions.services import agent_save
from tests.personas import dave_profile, miles_call, miles_chat

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def profile(data):
    data = dict(data)
    source, external_id = data.pop("source"), data.pop("external_id")
    if isinstance(data.get("started_at"), str):
        data["started_at"] = date.fromisoformat(data["started_at"])
    return agent_save(source=source, external_id=external_id, profile=data)[0]


@pytest.fixture
def miles(ingest):
    ingest(miles_chat())
    return Customer.objects.get()


def test_the_introduction_tells_the_customer_who_is_coming(miles):
    dave = profile(dave_profile())

    intro = agent_introduction(dave, customer=miles, now=NOW)

    assert intro["text"] == (
        "Hello Miles, this is Dave, who will be helping you with card payment failed. "
        "Dave has been with us for eight years and knows card payments and billing inside out. "
        "Dave speaks English and Spanish. In Dave's own words: “Restores old bicycles at the weekend.”"
    )
    assert '<img src="https://cdn.example.com/agents/dave.jpg" alt="Dave"' in intro["html"]
    assert intro["agent"]["tenure"] == "has been with us for eight years"
    assert intro["agent"]["languages"] == ["en", "es"]


def test_the_introduction_escapes_what_profiles_say(miles):
    agent = profile(dave_profile(name="<b>Dave</b>", personal_line='<script>alert("x")</script>', photo_url=""))

    html = agent_introduction(agent, customer=miles, now=NOW)["html"]

    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>" not in html and "<img" not in html


def test_an_introduction_without_a_customer_or_profile_still_reads_well():
    agent = Agent.objects.create(source="helpdesk", external_id="ag-9", name="Sam")

    assert agent_introduction(agent, now=NOW)["text"] == "Hello, this is Sam, who will be helping you."


def test_the_handover_script_introduces_brief_and_hands_over(miles):
    dave = profile(dave_profile())

    script = handover_script(case=Case.objects.get(), to_agent=dave, now=NOW)

    assert script == (
        "Miles, I'd like to introduce you to Dave. Dave, Miles has been with us for eleven years and contacted us "
        "about card payment failed. Miles, I'll leave you in Dave's capable hands."
    )


def test_suggested_agents_rank_continuity_language_and_expertise(ingest, miles):
    ingest(
        miles_call(external_id="c1", agent={"external_id": "ag-7", "name": "Tom"}, attributes={"csat": 1}, case=None),
        miles_chat(external_id="c2", attributes={"csat": 5}),
    )
    profile(dave_profile())
    profile(dave_profile(external_id="lena", name="Lena", expertise=["mortgages"], languages=["de"]))

    ranked = suggested_agents(miles)

    assert [r["agent"].name for r in ranked] == ["Priya", "Dave", "Tom"]
    priya, dave, tom = ranked
    assert priya["reasons"] == ["helped Miles 2 times before (average CSAT 5.0)"]
    assert dave["reasons"] == ["knows card payments, which the open case is about"]
    assert tom["score"] < 0 and tom["reasons"] == ["helped Miles 1 time before (average CSAT 1.0)"]
