"""Writing the timeline: interactions, the cases they belong to, and the agents who handled them."""

from django.db import transaction

from channels_ingest.normalizers.event import AgentRef, CaseRef, NormalizedEvent
from customer_memory.models import Customer
from interactions.choices import CaseStatus
from interactions.models import Agent, Case, Interaction


def agent_from_ref(*, source: str, ref: AgentRef) -> Agent:
    """The agent a source knows as `ref.external_id`, created on first sight; the latest name wins."""
    agent, created = Agent.objects.get_or_create(
        source=source, external_id=ref.external_id, defaults={"name": ref.name}
    )
    if not created and ref.name and agent.name != ref.name:
        agent.name = ref.name
        agent.save(update_fields=["name"])
    return agent


def case_touch(*, customer: Customer, source: str, ref: CaseRef, channel: str, occurred_at) -> Case:
    """Create the case on first sight or record new activity on it.

    Requires the caller's transaction (the row is locked until it ends). The status follows the latest
    event by occurrence time, so a late event cannot reopen a case closed after it.
    """
    case = Case.objects.select_for_update().filter(source=source, external_id=ref.external_id).first()
    if case is None:
        return Case.objects.create(
            customer=customer,
            source=source,
            external_id=ref.external_id,
            title=ref.title,
            status=ref.status or CaseStatus.OPEN,
            channel=channel,
            opened_at=occurred_at,
            last_activity_at=occurred_at,
            status_at=occurred_at,
        )
    if occurred_at >= case.status_at:
        case.status = ref.status or case.status
        case.status_at = occurred_at
        case.title = ref.title or case.title
    case.title = case.title or ref.title
    case.opened_at = min(case.opened_at, occurred_at)
    case.last_activity_at = max(case.last_activity_at, occurred_at)
    case.save()
    return case


@transaction.atomic
def interaction_record(*, customer: Customer, event: NormalizedEvent, raw_event=None) -> Interaction:
    """Put the event on the customer's timeline: one interaction per (source, external_id), updated in place."""
    case = None
    if event.case:
        case = case_touch(
            customer=customer, source=event.source, ref=event.case, channel=event.channel, occurred_at=event.occurred_at
        )
    agent = agent_from_ref(source=event.source, ref=event.agent) if event.agent else None
    interaction, _ = Interaction.objects.update_or_create(
        source=event.source,
        external_id=event.external_id,
        defaults={
            "customer": customer,
            "channel": event.channel,
            "type": event.type,
            "direction": event.direction,
            "occurred_at": event.occurred_at,
            "summary": event.summary,
            "case": case,
            "agent": agent,
            "attributes": event.attributes,
            "raw_event": raw_event,
        },
    )
    return interaction
