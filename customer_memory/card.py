"""The context card: what an agent or a bot sees the moment a customer gets in touch.

Built in two steps so that it can be cached without going stale as time passes:
- `live_card_facts(customer_id)`: everything read from the database, in a fixed number of queries whatever
  the history size, as plain picklable values: one hand-written query on PostgreSQL (card_queries), the ORM's
  eight (`card_facts`) on SQLite. This is what the card cache (customer_memory.card_cache) keeps.
- `card_render(facts, now=…)`: the card of the contract, including every time-relative part ("12 minutes
  ago", overdue promises, the greeting, likely reasons), computed at read time from the facts.
`card_text(card)` says the same card as a few plain sentences for a chatbot or a language-model prompt.
"""

import re

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from customer_memory.choices import IdentifierKind
from customer_memory.likely_reasons import likely_reasons
from customer_memory.models import Customer
from customer_memory.wording import (
    contact_verb,
    join_words,
    tenure_text,
    time_ago,
    time_until,
    topic,
    whole_years_between,
    years_in_words,
)
from interactions.choices import CaseStatus
from interactions.models import Case, Handover, Interaction, Promise

# The channel a customer is most likely on when found by this identifier (telephony looks up by phone).
CHANNEL_OF_LOOKUP = {
    IdentifierKind.PHONE: "voice",
    IdentifierKind.EMAIL: "email",
    IdentifierKind.HANDLE: "chat",
    IdentifierKind.ANONYMOUS_ID: "web",
    IdentifierKind.USER_ID: "web",
}
# Traits an agent confirms instead of asking again, in the order the card lists them.
CONFIRM_TRAITS = ("address", "date_of_birth", "product", "plan")
CONFIRM_IDENTIFIERS = (IdentifierKind.ACCOUNT, IdentifierKind.EMAIL, IdentifierKind.PHONE)
# Interactions read for signals (likely reasons); the card lists the newest CARD_RECENT_INTERACTIONS of them.
SIGNAL_INTERACTIONS = 30
EXPERIENCE_POINTS = 6
_SENTIMENT_WORDS = {"very positive": 1.0, "positive": 0.6, "neutral": 0.0, "negative": -0.6, "very negative": -1.0}
_NEXT_STEP = re.compile(r"\b(?:asked|told|advised|invited|promised)\s+to\s+([^;.\n]+)|\bplease\s+([^;.\n]+)", re.I)


def iso(moment):
    if moment is None:
        return None
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _public(item: dict) -> dict:
    """An item of the facts without its private keys (moments kept for read-time wording)."""
    return {k: v for k, v in item.items() if not k.startswith("_")}


def _agent_ref(agent_id, name) -> dict | None:
    return {"id": str(agent_id), "name": name} if agent_id else None


# --- Facts: the database part


def live_card_facts(customer_id) -> dict | None:
    """The card facts of the live customer with this id; None when there is none (merged away or gone)."""
    if connection.vendor == "postgresql":
        from customer_memory.card_queries import live_card_facts as facts_in_one_query  # builds on this module

        return facts_in_one_query(customer_id)
    customer = Customer.objects.filter(pk=customer_id, merged_into__isnull=True).first()
    return card_facts(customer) if customer else None


def card_facts(customer: Customer) -> dict:
    """What the card shows of a live customer, read with the ORM in a fixed number of queries (8), as plain
    values. The embedded (SQLite) path, and the reference the PostgreSQL query is tested against; ties in
    every ordering are broken by id so that both read the same rows."""
    identifiers = list(customer.identifiers.all())
    cases = list(Case.objects.filter(customer=customer).active().order_by("-last_activity_at", "-id")[:20]) + list(
        Case.objects.filter(customer=customer)
        .exclude(status__in=CaseStatus.active())
        .order_by("-last_activity_at", "-id")[: settings.CARD_RECENT_CASES]
    )
    interactions = list(
        Interaction.objects.filter(customer=customer)
        .select_related("agent", "case")
        .order_by("-occurred_at", "-id")[: max(SIGNAL_INTERACTIONS, settings.CARD_RECENT_INTERACTIONS)]
    )
    promises = list(
        Promise.objects.filter(customer=customer).outstanding().select_related("owner").order_by("due_at", "id")[:20]
    )
    # Handovers hang on cases, so they follow a case when its customer is merged.
    handovers = list(
        Handover.objects.filter(case__customer=customer, case__status__in=CaseStatus.active())
        .select_related("case", "from_agent", "to_agent")
        .order_by("-created_at", "-id")[:10]
    )
    return {
        **customer_part(
            id=customer.id,
            name=customer.name,
            preferred_name=customer.preferred_name,
            language=customer.language,
            customer_since=customer.customer_since,
            first_seen_at=customer.first_seen_at,
            identifiers=[{"kind": i.kind, "value": i.value, "verified": i.verified} for i in identifiers],
        ),
        "open_cases": [_case_item(c) for c in cases if c.status in CaseStatus.active()],
        "recent_cases": [_case_item(c) for c in cases if c.status not in CaseStatus.active()],
        "interactions": [_interaction_item(i) for i in interactions],
        "promises": [_promise_item(p) for p in promises],
        "handover_notes": [_handover_item(h) for h in handovers],
        "details": _details(customer, identifiers),
        "experience": _experience_points(customer),
    }


def first_name(customer: Customer) -> str:
    return preferred_name_of(customer.name, customer.preferred_name)


def preferred_name_of(name: str, preferred_name: str) -> str:
    return preferred_name or (name.split()[0] if name else "")


# The items of the facts, from plain values: the ORM path (card_facts) and the one-query path (card_queries)
# both build them here, so the card's shape is written once.


def customer_part(*, id, name, preferred_name, language, customer_since, first_seen_at, identifiers) -> dict:
    """The facts' customer and since fields; `identifiers` as [{"kind", "value", "verified"}]."""
    return {
        "customer": {
            "id": str(id),
            "name": name,
            "preferred_name": preferred_name_of(name, preferred_name),
            "language": language,
            "verified": any(i["verified"] for i in identifiers),
            "identifiers": identifiers,
        },
        "since": customer_since or (first_seen_at.date() if first_seen_at else None),
        "since_source": "record" if customer_since else "first_contact",
    }


def case_item(*, id, title, status, opened_at, last_activity_at, channel) -> dict:
    return {
        "id": str(id),
        "title": title,
        "status": status,
        "opened_at": iso(opened_at),
        "last_activity_at": iso(last_activity_at),
        "channel": channel,
        "_at": last_activity_at,
    }


def interaction_item(
    *, id, channel, direction, type, occurred_at, summary, case_id, agent_id, agent_name, contact, case_title, outcome
) -> dict:
    """`outcome`: what a channel system said of the conversation (question, answer, next step), for the
    continuation line; any other keys are ignored."""
    outcome = outcome if isinstance(outcome, dict) else {}
    return {
        "id": str(id),
        "channel": channel,
        "direction": direction,
        "type": type,
        "occurred_at": iso(occurred_at),
        "summary": summary,
        "case_id": str(case_id) if case_id else None,
        "agent": _agent_ref(agent_id, agent_name),
        "_at": occurred_at,
        "_contact": contact,
        "_case_title": case_title or "",
        "_outcome": {k: str(outcome[k]) for k in ("question", "answer", "next_step") if outcome.get(k)},
    }


def promise_item(*, id, kind, status, due_at, channel, case_id, note, owner_id, owner_name) -> dict:
    return {
        "id": str(id),
        "kind": kind,
        "status": status,
        "due_at": iso(due_at),
        "channel": channel,
        "case_id": str(case_id) if case_id else None,
        "note": note,
        "owner": _agent_ref(owner_id, owner_name),
        "_due": due_at,
    }


def handover_item(*, id, case_id, case_title, from_agent, to_agent, from_agent_id, to_agent_id, note, created_at):
    return {
        "id": str(id),
        "case_id": str(case_id),
        "case_title": case_title,
        "from_agent": from_agent,
        "to_agent": to_agent,
        "from_agent_id": str(from_agent_id),
        "to_agent_id": str(to_agent_id),
        "note": note,
        "created_at": iso(created_at),
        "_at": created_at,
    }


def details(latest_traits: dict, identifiers: list[dict]) -> list[dict]:
    """The latest statement of each confirmable trait ({name: {"value", "source", "observed_at"}}), then the
    account, email and phone on record ([{"kind", "value", "source", "last_seen_at", "verified"}])."""
    found = [
        {
            "field": name,
            "value": trait_text(latest_traits[name]["value"]),
            "source": latest_traits[name]["source"],
            "updated_at": iso(latest_traits[name]["observed_at"]),
            "_at": latest_traits[name]["observed_at"],
        }
        for name in CONFIRM_TRAITS
        if name in latest_traits
    ]
    for kind in CONFIRM_IDENTIFIERS:
        for identifier in (i for i in identifiers if i["kind"] == kind):
            found.append(
                {
                    "field": kind.value,
                    "value": identifier["value"],
                    "source": identifier["source"],
                    "updated_at": iso(identifier["last_seen_at"]),
                    "verified": identifier["verified"],
                    "_at": identifier["last_seen_at"],
                }
            )
    return found


def _case_item(case: Case) -> dict:
    return case_item(
        id=case.id,
        title=case.title,
        status=case.status,
        opened_at=case.opened_at,
        last_activity_at=case.last_activity_at,
        channel=case.channel,
    )


def _interaction_item(interaction: Interaction) -> dict:
    return interaction_item(
        id=interaction.id,
        channel=interaction.channel,
        direction=interaction.direction,
        type=interaction.type,
        occurred_at=interaction.occurred_at,
        summary=interaction.summary,
        case_id=interaction.case_id,
        agent_id=interaction.agent_id,
        agent_name=interaction.agent.name if interaction.agent else None,
        contact=interaction.is_contact,
        case_title=interaction.case.title if interaction.case else "",
        outcome=interaction.attributes,
    )


def _promise_item(promise: Promise) -> dict:
    return promise_item(
        id=promise.id,
        kind=promise.kind,
        status=promise.status,
        due_at=promise.due_at,
        channel=promise.channel,
        case_id=promise.case_id,
        note=promise.note,
        owner_id=promise.owner_id,
        owner_name=promise.owner.name if promise.owner else None,
    )


def _handover_item(handover: Handover) -> dict:
    return handover_item(
        id=handover.id,
        case_id=handover.case_id,
        case_title=handover.case.title,
        from_agent=handover.from_agent.name,
        to_agent=handover.to_agent.name,
        from_agent_id=handover.from_agent_id,
        to_agent_id=handover.to_agent_id,
        note=handover.note,
        created_at=handover.created_at,
    )


def _details(customer: Customer, identifiers: list) -> list[dict]:
    traits = customer.traits.filter(name__in=CONFIRM_TRAITS).order_by("name", "-observed_at", "-id")
    if connection.features.can_distinct_on_fields:
        # PostgreSQL: one row per trait name however many times events restated it.
        traits = traits.distinct("name")
    latest = {}
    for trait in traits:
        latest.setdefault(trait.name, {"value": trait.value, "source": trait.source, "observed_at": trait.observed_at})
    return details(
        latest,
        [
            {
                "kind": i.kind,
                "value": i.value,
                "source": i.source,
                "last_seen_at": i.last_seen_at,
                "verified": i.verified,
            }
            for i in identifiers
        ],
    )


def trait_text(value) -> str:
    if isinstance(value, dict):  # an address
        order = ("line1", "line2", "city", "region", "postcode", "country")
        return ", ".join(str(value[k]) for k in order if value.get(k)) or ", ".join(map(str, value.values()))
    return str(value)


def _experience_points(customer: Customer) -> list[dict]:
    """The newest CSAT and sentiment values events carried (attributes.csat, attributes.sentiment)."""
    rows = (
        Interaction.objects.filter(customer=customer)
        .filter(Q(attributes__has_key="csat") | Q(attributes__has_key="sentiment"))
        .order_by("-occurred_at", "-id")
        .values_list("occurred_at", "attributes")[:EXPERIENCE_POINTS]
    )
    points = (experience_point(at, attributes.get("csat"), attributes.get("sentiment")) for at, attributes in rows)
    return [point for point in points if point is not None]


def experience_point(at, csat, sentiment) -> dict | None:
    """One CSAT / sentiment reading from an interaction's attributes, or None when neither is a value."""
    csat = _number(csat)
    sentiment = _SENTIMENT_WORDS.get(sentiment.lower()) if isinstance(sentiment, str) else _number(sentiment)
    if csat is None and sentiment is None:
        return None
    return {"at": at, "csat": csat, "sentiment": sentiment}


def _number(value) -> float | None:
    try:
        return float(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


# --- Render: the read-time part


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


def customer_card(customer: Customer, *, lookup: dict | None = None, now=None, channel: str | None = None) -> dict:
    """The card of a live customer straight from the database (no cache)."""
    return card_render(live_card_facts(customer.pk), lookup=lookup, now=now, channel=channel)


def card_render(facts: dict, *, lookup: dict | None = None, now=None, channel: str | None = None) -> dict:
    """The contract card from cached or fresh facts, worded for `now`.

    `channel` is the one the customer is on now (else guessed from the lookup kind): a recent last contact
    on another channel makes the continuation line of a channel switch."""
    now = now or timezone.now()
    if channel is None and lookup:
        channel = CHANNEL_OF_LOOKUP.get(lookup["kind"])
    tenure = _tenure(facts, now)
    contacts = [i for i in facts["interactions"] if i["_contact"]]
    last = contacts[0] if contacts else None
    continuation = _continuation(last, now, channel)
    promises = [
        {**_public(p), "overdue": p["_due"] < now, "due": time_until(p["_due"], now)} for p in facts["promises"]
    ]
    card = empty_card(lookup)
    card.update(
        known=True,
        customer=facts["customer"],
        tenure=tenure,
        greeting=_greeting(facts, tenure, last, continuation, promises, now),
        open_cases=[_public(c) for c in facts["open_cases"]],
        recent_cases=[_public(c) for c in facts["recent_cases"]],
        recent_interactions=[_public(i) for i in facts["interactions"][: settings.CARD_RECENT_INTERACTIONS]],
        last_contact=_last_contact(last, continuation, now),
        promises=promises,
        handover_notes=[{**_public(h), "ago": time_ago(h["_at"], now)} for h in facts["handover_notes"]],
        likely_reasons=likely_reasons(
            interactions=contacts, open_cases=facts["open_cases"], promises=facts["promises"], now=now
        ),
        details_to_confirm=[{**_public(d), "age": time_ago(d["_at"], now)} for d in facts["details"]],
        experience=_experience(facts["experience"]),
    )
    return card


def _tenure(facts: dict, now) -> dict | None:
    since = facts["since"]
    if since is None:
        return None
    today = now.date()
    return {
        "since": since.isoformat(),
        "source": facts["since_source"],
        "years": max(0, whole_years_between(since, today)),
        "text": tenure_text(since, today),
    }


def _continuation(last: dict | None, now, channel: str | None) -> dict | None:
    """What to pick up from a recent contact on another channel: what was asked, said, and to be done."""
    if last is None or now - last["_at"] > settings.CARD_CONTINUATION_WINDOW:
        return None
    if channel and channel == last["channel"]:
        return None
    outcome = last["_outcome"]
    asked = outcome.get("question") or topic(last["_case_title"] or last["summary"])
    next_step = outcome.get("next_step")
    if not next_step:
        found = _NEXT_STEP.search(last["summary"])
        next_step = (found.group(1) or found.group(2)).strip() if found else ""
    text = f"{contact_verb(last['channel'], last['direction'])} {time_ago(last['_at'], now)}"
    if asked:
        text += f" about {asked}"
    if outcome.get("answer"):
        text += f"; we said: {outcome['answer']}"
    if next_step:
        text += f"; was told to {next_step}"
    return {
        "channel": last["channel"],
        "asked": asked,
        "said": outcome.get("answer", ""),
        "next_step": next_step,
        "text": text,
    }


def _last_contact(last: dict | None, continuation: dict | None, now) -> dict | None:
    if last is None:
        return None
    return {
        "channel": last["channel"],
        "direction": last["direction"],
        "occurred_at": last["occurred_at"],
        "ago": time_ago(last["_at"], now),
        "summary": last["summary"],
        "agent": last["agent"],
        "case_id": last["case_id"],
        "continuation": continuation,
    }


def _greeting(facts, tenure, last, continuation, promises, now) -> str:
    """One sentence or three for the agent to open with: first name only, tenure, the latest context."""
    name = facts["customer"]["preferred_name"]
    opening = f"Welcome back, {name}" if name else "Welcome back"
    years = tenure["years"] if tenure else 0
    if years >= 1:
        opening += f" — {years_in_words(years)} with us"
    sentences = [opening + "."]
    if last:
        did = f"you {contact_verb(last['channel'], last['direction'])} {time_ago(last['_at'], now)}"
        about = topic(last["_case_title"] or last["summary"])
        about = f" about {about}" if about else ""
        if continuation:
            step = f", and you were asked to {continuation['next_step']}" if continuation["next_step"] else ""
            sentences.append(f"I see {did}{about}{step} — let's pick up from there.")
        else:
            sentences.append(f"{did[0].upper()}{did[1:]}{about}.")
    overdue = [p for p in promises if p["overdue"]]
    if overdue:
        kind = "callback" if overdue[0]["kind"] == "callback" else "follow-up"
        sentences.append(f"We owe you a {kind} that is late — I'm sorry about that.")
    return " ".join(sentences)


def _experience(points: list[dict]) -> dict:
    """Latest CSAT and whether the customer's experience is getting better or worse, from CSAT (1-5,
    read as -1..1) and sentiment (-1..1 or words) values, oldest to newest."""
    csat_points = [p for p in points if p["csat"] is not None]
    scores = []
    for point in reversed(points):
        values = [
            v
            for v in ((point["csat"] - 3) / 2 if point["csat"] is not None else None, point["sentiment"])
            if v is not None
        ]
        scores.append(sum(values) / len(values))
    trend = "unknown"
    if len(scores) >= 2:
        half = len(scores) // 2
        change = sum(scores[-half:]) / half - sum(scores[:half]) / half
        trend = "improving" if change > 0.15 else "declining" if change < -0.15 else "steady"
    last_csat = csat_points[0]["csat"] if csat_points else None
    return {
        "last_csat": int(last_csat) if last_csat is not None and last_csat.is_integer() else last_csat,
        "last_csat_at": iso(csat_points[0]["at"]) if csat_points else None,
        "sentiment_trend": trend,
        "data_points": len(points),
    }


# --- Text: the card as sentences


def card_text(card: dict) -> str:
    """The card as a few plain sentences, for a chatbot or a language-model prompt (no JSON to parse)."""
    if not card["known"]:
        lookup = card.get("lookup")
        who = f" No customer holds {lookup['kind']} {lookup['value']}." if lookup else ""
        return f"Unknown caller.{who} Suggested greeting: {card['greeting']}\n"
    customer = card["customer"]
    lines = []
    who = customer["name"] or "This customer (name unknown)"
    if customer["preferred_name"] and customer["preferred_name"] != (customer["name"].split() or [""])[0]:
        who += f" (goes by {customer['preferred_name']})"
    if card["tenure"]:
        who += f", {card['tenure']['text']} (since {card['tenure']['since']})"
    ids = join_words(
        [f"{i['kind']} {i['value']}{' (verified)' if i['verified'] else ''}" for i in customer["identifiers"]]
    )
    lines.append(f"{who}. Identifiers on record: {ids or 'none'}.")
    if customer["language"]:
        lines.append(f"Language: {customer['language']}.")
    lines.append(f"Suggested greeting: {card['greeting']}")
    last = card["last_contact"]
    if last:
        by = f" with {last['agent']['name']}" if last.get("agent") else ""
        lines.append(
            f"Last contact: {last['channel']} {last['direction']}, {last['ago']}{by}: {last['summary'] or '-'}."
        )
        if last.get("continuation"):
            lines.append(f"Continue from there: the customer {last['continuation']['text']}.")
    for case in card["open_cases"]:
        lines.append(
            f"Open case: “{case['title']}” ({case['status']}, opened {case['opened_at'][:10]} on {case['channel']})."
        )
    for promise in card["promises"]:
        state = "OVERDUE, was due" if promise["overdue"] else "due"
        owner = f", owed by {promise['owner']['name']}" if promise.get("owner") else ""
        lines.append(f"Promise: {promise['kind'].replace('_', '-')} {state} {promise['due']}{owner}.")
    for note in card["handover_notes"]:
        lines.append(f"Handover note from {note['from_agent']} to {note['to_agent']} ({note['ago']}): {note['note']}")
    for reason in card["likely_reasons"]:
        evidence = "; ".join(reason["evidence"])
        lines.append(f"Likely reason ({round(reason['confidence'] * 100)}%): {reason['reason']} — {evidence}.")
    details = [f"{d['field']} {d['value']} ({d['source']}, {d['age']})" for d in card["details_to_confirm"]]
    if details:
        lines.append(f"Confirm rather than ask: {'; '.join(details)}.")
    experience = card["experience"]
    if experience and experience["data_points"]:
        csat = f"last CSAT {experience['last_csat']}/5, " if experience["last_csat"] is not None else ""
        lines.append(f"Experience: {csat}sentiment {experience['sentiment_trend']}.")
    return "\n".join(lines) + "\n"
