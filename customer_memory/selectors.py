"""Reads shaped for the API: finding a customer by what a channel knows, and the context card."""

import uuid

from django.conf import settings
from django.utils import timezone

from customer_memory.choices import IdentifierKind
from customer_memory.identifiers import InvalidIdentifier, normalize_identifier
from customer_memory.models import Customer
from customer_memory.wording import contact_verb, number_in_words, tenure_text, time_ago, whole_years_between
from interactions.choices import CaseStatus, Direction
from interactions.models import Case, Interaction

# Card lookup parameters, in the order they are tried when a caller sends several.
LOOKUP_PARAMETERS = {
    "phone": IdentifierKind.PHONE,
    "email": IdentifierKind.EMAIL,
    "account": IdentifierKind.ACCOUNT,
    "user_id": IdentifierKind.USER_ID,
    "handle": IdentifierKind.HANDLE,
    "anonymous_id": IdentifierKind.ANONYMOUS_ID,
}


def customer_by_identifier(kind: str, value: str) -> Customer | None:
    """The live customer holding this identifier, normalizing `value` as ingest does; None when the
    value is unknown or cannot be an identifier of that kind (a withheld caller id, say)."""
    if kind == IdentifierKind.PHONE and value.startswith(" "):
        # "?phone=+14155550100" sent unencoded arrives as " 14155550100": the space was a plus.
        value = "+" + value.lstrip()
    try:
        normalized = normalize_identifier(kind, value)
    except InvalidIdentifier:
        return None
    return Customer.objects.by_identifier(kind, normalized)


def parse_uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def customer_by_id(customer_id) -> Customer | None:
    """The customer with this id, following merges to the survivor; None when there is no such id."""
    pk = parse_uuid(customer_id)
    customer = Customer.objects.filter(pk=pk).first() if pk else None
    return customer.resolved() if customer else None


def _iso(moment):
    if moment is None:
        return None
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _case_item(case: Case) -> dict:
    return {
        "id": str(case.id),
        "title": case.title,
        "status": case.status,
        "opened_at": _iso(case.opened_at),
        "last_activity_at": _iso(case.last_activity_at),
        "channel": case.channel,
    }


def _interaction_item(interaction: Interaction) -> dict:
    agent = interaction.agent
    return {
        "id": str(interaction.id),
        "channel": interaction.channel,
        "direction": interaction.direction,
        "type": interaction.type,
        "occurred_at": _iso(interaction.occurred_at),
        "summary": interaction.summary,
        "case_id": str(interaction.case_id) if interaction.case_id else None,
        "agent": {"id": str(agent.id), "name": agent.name} if agent else None,
    }


def empty_card(lookup: dict | None = None) -> dict:
    """The card for a caller we do not know: every contract key present, nothing invented."""
    return {
        "known": False,
        "lookup": lookup,
        "customer": None,
        "tenure": None,
        "greeting": "Hello, and thank you for contacting us. How can I help you today?",
        "open_cases": [],
        "recent_cases": [],
        "recent_interactions": [],
        "last_contact": None,
        "promises": [],
        "handover_notes": [],
        "likely_reasons": [],
        "details_to_confirm": [],
        "experience": None,
    }


def customer_card(customer: Customer, *, lookup: dict | None = None, now=None) -> dict:
    """The context card of a (live) customer, in a fixed number of queries whatever their history size.

    `lookup` is the identifier the caller found them by, echoed on the card as on the empty card."""
    now = now or timezone.now()
    identifiers = list(customer.identifiers.all())
    cases = list(
        Case.objects.filter(customer=customer, status__in=CaseStatus.active()).order_by("-last_activity_at")[:20]
    ) + list(
        Case.objects.filter(customer=customer)
        .exclude(status__in=CaseStatus.active())
        .order_by("-last_activity_at")[: settings.CARD_RECENT_CASES]
    )
    interactions = list(
        Interaction.objects.filter(customer=customer)
        .select_related("agent")
        .order_by("-occurred_at", "-id")[: settings.CARD_RECENT_INTERACTIONS]
    )
    tenure = _tenure(customer, now)
    # Internal notes and automated mail (auto-replies, bounces) are not contacts with the customer: they never
    # make the greeting or the last contact.
    last = next((i for i in interactions if i.direction != Direction.INTERNAL and not i.automated), None)
    last_contact = None
    if last:
        last_contact = {
            "channel": last.channel,
            "direction": last.direction,
            "occurred_at": _iso(last.occurred_at),
            "ago": time_ago(last.occurred_at, now),
            "summary": last.summary,
            "agent": {"id": str(last.agent.id), "name": last.agent.name} if last.agent else None,
        }
    card = empty_card(lookup)
    card.update(
        known=True,
        customer={
            "id": str(customer.id),
            "name": customer.name,
            "preferred_name": _first_name(customer),
            "language": customer.language,
            "verified": any(i.verified for i in identifiers),
            "identifiers": [{"kind": i.kind, "value": i.value, "verified": i.verified} for i in identifiers],
        },
        tenure=tenure,
        greeting=_greeting(customer, tenure, last, now),
        open_cases=[_case_item(c) for c in cases if c.status in CaseStatus.active()],
        recent_cases=[_case_item(c) for c in cases if c.status not in CaseStatus.active()],
        recent_interactions=[_interaction_item(i) for i in interactions],
        last_contact=last_contact,
    )
    return card


def _first_name(customer: Customer) -> str:
    return customer.preferred_name or (customer.name.split()[0] if customer.name else "")


def _tenure(customer: Customer, now) -> dict | None:
    since = customer.customer_since or (customer.first_seen_at.date() if customer.first_seen_at else None)
    if since is None:
        return None
    today = now.date()
    return {
        "since": since.isoformat(),
        "source": "record" if customer.customer_since else "first_contact",
        "years": max(0, whole_years_between(since, today)),
        "text": tenure_text(since, today),
    }


def _greeting(customer: Customer, tenure: dict | None, last: Interaction | None, now) -> str:
    """One sentence for the agent to open with: first name only, tenure, and the latest contact."""
    name = _first_name(customer)
    opening = f"Welcome back, {name}" if name else "Welcome back"
    years = tenure["years"] if tenure else 0
    if years >= 1:
        opening += f" — {number_in_words(years)} year{'s' if years != 1 else ''} with us"
    sentences = [opening + "."]
    if last:
        about = f": {last.summary.rstrip('.')}" if last.summary else ""
        sentences.append(f"You {contact_verb(last.channel, last.direction)} {time_ago(last.occurred_at, now)}{about}.")
    return " ".join(sentences)
