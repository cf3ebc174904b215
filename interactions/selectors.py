from django.db.models import Q

from customer_memory.models import Customer
from interactions.models import Agent, Case, Interaction


def interaction_timeline(customer: Customer):
    """The customer's interactions across channels with their agents, for filtering and paging by the caller.

    Newest-first paging walks the (customer, -occurred_at) index.
    """
    return Interaction.objects.filter(customer=customer).select_related("agent", "case")


def timeline_text(interactions, *, customer: Customer, next_url: str | None = None) -> str:
    """A page of the timeline as plain lines, newest first, for a chatbot or a language-model prompt."""
    name = customer.name or "this customer"
    lines = [f"Timeline of {name}, newest first (times in UTC):"]
    for interaction in interactions:
        parts = [f"{interaction.occurred_at:%Y-%m-%d %H:%M}", interaction.channel, interaction.direction]
        if interaction.type:
            parts.append(interaction.type)
        line = f"- {' · '.join(parts)}: {interaction.summary or '(no summary)'}"
        extras = []
        if interaction.agent:
            extras.append(f"agent {interaction.agent.name or interaction.agent.external_id}")
        if interaction.case:
            extras.append(
                f"case “{interaction.case.title or interaction.case.external_id}” ({interaction.case.status})"
            )
        lines.append(line + (f" [{'; '.join(extras)}]" if extras else ""))
    if len(lines) == 1:
        lines.append("- nothing in this range.")
    if next_url:
        lines.append(f"Older interactions: {next_url}")
    return "\n".join(lines) + "\n"


def suggested_agents(customer: Customer, *, limit: int = 5) -> list[dict]:
    """Active agents ranked for this customer, each with its score and the reasons for it.

    Continuity counts most (who helped them before, weighed by the CSAT of those contacts), then a
    shared language and expertise that matches the title of an open case. A bad CSAT with an agent
    counts against them."""
    history = {}
    for agent_id, csat in (
        Interaction.objects.filter(customer=customer, agent__isnull=False)
        .order_by("-occurred_at")
        .values_list("agent_id", "attributes__csat")[:500]
    ):
        seen = history.setdefault(agent_id, {"contacts": 0, "csat": []})
        seen["contacts"] += 1
        if isinstance(csat, int | float) and not isinstance(csat, bool):
            seen["csat"].append(float(csat))
    case_titles = [t.lower() for t in Case.objects.filter(customer=customer).active().values_list("title", flat=True)]
    language = customer.language.lower().split("-")[0] if customer.language else ""
    first = customer.preferred_name or (customer.name.split()[0] if customer.name else "the customer")
    candidates = Agent.objects.filter(is_active=True).filter(
        Q(pk__in=list(history)) | ~Q(expertise=[]) | ~Q(languages=[])
    )
    ranked = []
    for agent in candidates:
        score, reasons = 0.0, []
        seen = history.get(agent.pk)
        if seen:
            score += 0.5 * min(1.0, seen["contacts"] / 3)
            times = f"{seen['contacts']} time{'s' if seen['contacts'] != 1 else ''}"
            if seen["csat"]:
                csat = sum(seen["csat"]) / len(seen["csat"])
                score += 0.2 if csat >= 4 else -0.4 if csat <= 2 else 0.0
                reasons.append(f"helped {first} {times} before (average CSAT {csat:.1f})")
            else:
                reasons.append(f"helped {first} {times} before")
        if language and language in [str(code).lower().split("-")[0] for code in agent.languages]:
            score += 0.2
            reasons.append(f"speaks {first}'s language ({language})")
        matching = [e for e in agent.expertise if any(_is_about(str(e), title) for title in case_titles)]
        if matching:
            score += 0.3
            reasons.append(f"knows {', '.join(matching)}, which the open case is about")
        if reasons:
            ranked.append({"agent": agent, "score": round(score, 2), "reasons": reasons})
    ranked.sort(key=lambda r: (-r["score"], r["agent"].name))
    return ranked[:limit]


def _is_about(expertise: str, title: str) -> bool:
    """Every word of the expertise appears in the title, plurals aside ("card payments" ~ "Card payment failed")."""
    stems = [word.lower().rstrip("s") for word in expertise.split() if len(word) > 2]
    return bool(stems) and all(stem in title for stem in stems)
