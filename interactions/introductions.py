"""Warm introductions: what the customer is told about the agent who will help them, and the script an
agent reads when handing a customer to a colleague."""

from datetime import date

from django.conf.locale import LANG_INFO
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from customer_memory.models import Customer
from customer_memory.wording import join_words, topic, whole_years_between, years_in_words
from interactions.models import Agent, Case


def agent_tenure_text(agent: Agent, today: date) -> str:
    """ "has been with us for eight years", "joined us 3 months ago", "" when the start date is unknown."""
    if agent.started_at is None:
        return ""
    years = whole_years_between(agent.started_at, today)
    if years >= 1:
        return f"has been with us for {years_in_words(years)}"
    months = (today.year - agent.started_at.year) * 12 + today.month - agent.started_at.month
    return f"joined us {months} month{'s' if months != 1 else ''} ago" if months >= 1 else "joined us recently"


def language_names(codes: list[str]) -> list[str]:
    return [LANG_INFO.get(str(code).lower(), {}).get("name", str(code)) for code in codes]


def agent_profile(agent: Agent, *, now=None) -> dict:
    """The agent as a customer may see them: no internal ids of other systems."""
    now = now or timezone.now()
    return {
        "id": str(agent.id),
        "name": agent.name,
        "photo_url": agent.photo_url,
        "started_at": agent.started_at.isoformat() if agent.started_at else None,
        "tenure": agent_tenure_text(agent, now.date()),
        "expertise": list(agent.expertise),
        "languages": list(agent.languages),
        "personal_line": agent.personal_line,
    }


def _open_case_topic(customer: Customer | None) -> str:
    if customer is None:
        return ""
    case = Case.objects.filter(customer=customer).active().order_by("-last_activity_at").first()
    return topic(case.title) if case and case.title else ""


def agent_introduction(agent: Agent, *, customer: Customer | None = None, now=None) -> dict:
    """The warm introduction sent before a visit, call or chat: `{"text", "html", "agent"}`.

    Everything from profiles and events is escaped in the HTML: a name or a personal line is text."""
    now = now or timezone.now()
    name = agent.name or "Your agent"
    first = customer.preferred_name or (customer.name.split()[0] if customer.name else "") if customer else ""
    about = _open_case_topic(customer)
    sentences = [
        f"Hello{' ' + first if first else ''}, this is {name}"
        + (f", who will be helping you with {about}." if about else ", who will be helping you.")
    ]
    knows = []
    tenure = agent_tenure_text(agent, now.date())
    if tenure:
        knows.append(tenure)
    if agent.expertise:
        knows.append(f"knows {join_words(list(agent.expertise))} inside out")
    if knows:
        sentences.append(f"{name} {join_words(knows)}.")
    if agent.languages:
        sentences.append(f"{name} speaks {join_words(language_names(agent.languages))}.")
    if agent.personal_line:
        sentences.append(f"In {name}'s own words: “{agent.personal_line.strip()}”")
    photo = (
        format_html('<img src="{}" alt="{}" width="96" height="96" class="agent-photo">', agent.photo_url, name)
        if agent.photo_url
        else ""
    )
    html = format_html(
        '<div class="agent-introduction">{}{}</div>',
        photo,
        format_html_join("", "<p>{}</p>", ((s,) for s in sentences)),
    )
    return {
        "text": " ".join(sentences),
        "html": str(html),
        "agent": agent_profile(agent, now=now),
        "customer_id": str(customer.id) if customer else None,
    }


def handover_script(*, case: Case, to_agent: Agent, now=None) -> str:
    """What the handing-over agent says on the three-way call: introduce, brief, hand over."""
    now = now or timezone.now()
    customer = case.customer
    first = customer.preferred_name or (customer.name.split()[0] if customer.name else "")
    to_name = to_agent.name or "my colleague"
    about = topic(case.title) if case.title else "their request"
    years = whole_years_between(customer.customer_since, now.date()) if customer.customer_since else 0
    with_us = f" has been with us for {years_in_words(years)} and" if years >= 1 else ""
    if first:
        return (
            f"{first}, I'd like to introduce you to {to_name}. "
            f"{to_name}, {first}{with_us} contacted us about {about}. "
            f"{first}, I'll leave you in {to_name}'s capable hands."
        )
    return (
        f"I'd like to introduce you to {to_name}. {to_name}, our customer{with_us} contacted us about {about}. "
        f"I'll leave you in {to_name}'s capable hands."
    )
