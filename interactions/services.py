"""Writing the timeline: interactions, the cases they belong to, the agents who handled them, and the
handovers and promises agents make."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from channels_ingest.normalizers.event import AgentRef, CaseRef, NormalizedEvent
from customer_memory.bulk import rows_insert, rows_update
from customer_memory.card_cache import card_changed
from customer_memory.models import Customer
from interactions.choices import CaseStatus, Direction, PromiseStatus
from interactions.introductions import handover_script
from interactions.models import Agent, Case, Handover, Interaction, Promise

# A conversation longer than this keeps its latest turns: bounds the row a chat that never ends can grow to.
MAX_MESSAGES = 2000
CUSTOMER_AUTHORS = ("customer", "visitor")


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
        case = _case_new(customer=customer, source=source, ref=ref, channel=channel, occurred_at=occurred_at)
        case.save(force_insert=True)
        return case
    _case_apply(case, ref=ref, occurred_at=occurred_at)
    case.save()
    return case


def _case_new(*, customer: Customer, source: str, ref: CaseRef, channel: str, occurred_at) -> Case:
    return Case(
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


def _case_apply(case: Case, *, ref: CaseRef, occurred_at) -> None:
    """New activity on a case, in memory (the caller saves)."""
    if occurred_at >= case.status_at:
        case.status = ref.status or case.status
        case.status_at = occurred_at
        case.title = ref.title or case.title
    case.title = case.title or ref.title
    case.opened_at = min(case.opened_at, occurred_at)
    case.last_activity_at = max(case.last_activity_at, occurred_at)


def messages_merge(stored: list[dict], incoming: list[dict]) -> list[dict]:
    """One conversation's turns from several deliveries: deduplicated by id (the incoming copy wins),
    ordered by time, the latest MAX_MESSAGES kept."""
    by_id = {message["id"]: message for message in stored}
    by_id.update((message["id"], message) for message in incoming)
    ordered = sorted(by_id.values(), key=lambda message: (message.get("at") or "", message["id"]))
    return ordered[-MAX_MESSAGES:]


def _summary_from_messages(messages: list[dict]) -> str:
    """What the conversation was about, when no one wrote a summary: the customer's first words."""
    first = next((m for m in messages if m.get("author") in CUSTOMER_AUTHORS and m.get("text")), None)
    if first is None:
        return ""
    text = " ".join(first["text"].split())
    return text if len(text) <= 300 else text[:299] + "…"


def _case_for(*, customer: Customer, event: NormalizedEvent) -> Case | None:
    """The case the event belongs to: the case of this customer's interaction it answers, when one is on
    record (an email reply joins its thread's case even if its own headers point elsewhere), else its own."""
    if event.replies_to:
        answered = (
            Interaction.objects.filter(
                customer=customer, channel=event.channel, external_id__in=event.replies_to, case__isnull=False
            )
            .select_related("case")
            .order_by("occurred_at")
            .first()
        )
        if answered is not None:
            ref = CaseRef(external_id=answered.case.external_id, status=event.case.status if event.case else "")
            return case_touch(
                customer=customer,
                source=answered.case.source,
                ref=ref,
                channel=event.channel,
                occurred_at=event.occurred_at,
            )
    if event.case:
        return case_touch(
            customer=customer, source=event.source, ref=event.case, channel=event.channel, occurred_at=event.occurred_at
        )
    return None


# No savepoint of its own: linking calls it inside the event's transaction, where an error rolls back the
# whole event anyway, and a savepoint is two more round trips per event.
@transaction.atomic(savepoint=False)
def interaction_record(*, customer: Customer, event: NormalizedEvent, raw_event=None) -> Interaction:
    """Put the event on the customer's timeline: one interaction per (source, external_id), updated in place.

    Deliveries about one interaction may arrive twice or out of order (a call's status callbacks, a chat's
    messages). The interaction's row is locked while they are merged, so concurrent ones apply one after the
    other: the content of the highest revision wins whatever the order of arrival (an equal revision, e.g. a
    reprocess, replaces it), messages from every delivery are merged by id, and `occurred_at` is the earliest
    start any of them reports.
    """
    case = _case_for(customer=customer, event=event)
    agent = agent_from_ref(source=event.source, ref=event.agent) if event.agent else None
    interaction = _interaction_locked(event)
    if interaction is None:
        try:
            with transaction.atomic():
                interaction = _interaction_new(customer, event, case=case, agent=agent, raw_event=raw_event)
                interaction.save(force_insert=True)
        except IntegrityError:
            # Another delivery of the same interaction created it meanwhile: merge into that row.
            interaction = _interaction_locked(event)
        else:
            promises_keep(interaction=interaction)
            return interaction

    stored_messages = interaction.messages or []
    merged = messages_merge(stored_messages, event.messages)
    derived = _summary_from_messages(merged)
    newer = event.revision >= interaction.revision
    if newer:
        interaction.channel = event.channel
        interaction.type = event.type
        interaction.direction = event.direction
        interaction.summary = event.summary or derived or interaction.summary
        interaction.attributes = event.attributes
        interaction.automated = event.automated
        interaction.revision = event.revision
        interaction.raw_event = raw_event
    elif not interaction.summary or interaction.summary == _summary_from_messages(stored_messages):
        # An older delivery can still bring an earlier message, and with it the conversation's first words.
        interaction.summary = derived or interaction.summary
    interaction.customer = customer
    interaction.case = case or interaction.case
    # A later callback that names no agent does not erase the one an earlier delivery named.
    interaction.agent = (agent or interaction.agent) if newer else (interaction.agent or agent)
    interaction.messages = merged
    interaction.occurred_at = min(interaction.occurred_at, event.occurred_at)
    interaction.save()
    promises_keep(interaction=interaction)
    return interaction


def timeline_claims(event: NormalizedEvent) -> set[str]:
    """What of the timeline an event writes to, by name: an event of a batch that shares one with an
    earlier event is recorded after it, one at a time (see interactions_record_bulk)."""
    claims = {f"interaction:{event.source}:{event.external_id}"} if event.on_timeline else set()
    if event.on_timeline and event.case:
        claims.add(f"case:{event.source}:{event.case.external_id}")
    return claims


def interactions_bulk_eligible(events: list[NormalizedEvent]) -> list[bool]:
    """Which events interactions_record_bulk can record: a new interaction (no delivery of it on record)
    that answers nothing, names no agent we have not met under the same name, and keeps no promise (an
    outbound contact). The others need interaction_record's merge of deliveries. Two queries at most."""
    on_timeline = [event for event in events if event.on_timeline]
    recorded = set()
    if on_timeline:
        recorded = set(
            Interaction.objects.filter(
                source__in={e.source for e in on_timeline}, external_id__in={e.external_id for e in on_timeline}
            ).values_list("source", "external_id")
        )
    agents = {key: agent.name for key, agent in _agents_met(on_timeline).items()}

    def eligible(event: NormalizedEvent) -> bool:
        if not event.on_timeline:
            return True
        if (event.source, event.external_id) in recorded or event.replies_to:
            return False
        if event.direction == Direction.OUTBOUND and not event.automated:
            return False
        if event.agent:
            name = agents.get((event.source, event.agent.external_id))
            return name is not None and (not event.agent.name or name == event.agent.name)
        return True

    return [eligible(event) for event in events]


@transaction.atomic(savepoint=False)
def interactions_record_bulk(items: list[tuple[Customer, NormalizedEvent, object]]) -> list[Interaction | None]:
    """interaction_record for many events of interactions_bulk_eligible, none sharing a timeline_claim:
    their cases touched and their interactions inserted in a few statements. Returns each event's
    interaction (None for identity-only events). Requires the caller's transaction; an interaction
    recorded meanwhile by another worker raises IntegrityError (the caller then goes one at a time)."""
    on_timeline = [(customer, event, raw_event) for customer, event, raw_event in items if event.on_timeline]
    wanted_cases = {(event.source, event.case.external_id) for _, event, _ in on_timeline if event.case}
    cases = {}
    if wanted_cases:
        cases = {
            (case.source, case.external_id): case
            for case in Case.objects.select_for_update()
            .filter(source__in={s for s, _ in wanted_cases}, external_id__in={x for _, x in wanted_cases})
            .order_by("pk")
            if (case.source, case.external_id) in wanted_cases
        }
    agents = _agents_met([event for _, event, _ in on_timeline])
    touched, created, rows = [], [], []
    for customer, event, raw_event in on_timeline:
        case = None
        if event.case:
            key = (event.source, event.case.external_id)
            case = cases.get(key)
            if case is None:
                case = _case_new(
                    customer=customer,
                    source=event.source,
                    ref=event.case,
                    channel=event.channel,
                    occurred_at=event.occurred_at,
                )
                created.append(case)
            else:
                _case_apply(case, ref=event.case, occurred_at=event.occurred_at)
                touched.append(case)
        agent = agents.get((event.source, event.agent.external_id)) if event.agent else None
        rows.append(_interaction_new(customer, event, case=case, agent=agent, raw_event=raw_event))
    rows_insert(Case, created)
    rows_update(Case, touched, ["title", "status", "status_at", "opened_at", "last_activity_at"])
    rows_insert(Interaction, rows)
    # Rows written in bulk send no post_save: their cards are invalidated by the caller's customers_changed,
    # plus the customers of cases touched here that belong to someone else.
    others = {case.customer_id for case in touched} - {customer.pk for customer, _, _ in items}
    if others:
        transaction.on_commit(lambda: card_changed(list(others)))
    by_event = iter(rows)
    return [next(by_event) if event.on_timeline else None for _, event, _ in items]


def _interaction_new(customer: Customer, event: NormalizedEvent, *, case, agent, raw_event) -> Interaction:
    """A first delivery's interaction, in memory (the caller inserts it)."""
    messages = messages_merge([], event.messages)
    return Interaction(
        customer=customer,
        source=event.source,
        external_id=event.external_id,
        channel=event.channel,
        type=event.type,
        direction=event.direction,
        occurred_at=event.occurred_at,
        summary=event.summary or _summary_from_messages(messages),
        case=case,
        agent=agent,
        attributes=event.attributes,
        messages=messages,
        revision=event.revision,
        automated=event.automated,
        raw_event=raw_event,
    )


def _agents_met(events: list[NormalizedEvent]) -> dict[tuple[str, str], Agent]:
    """The agents on record that these events name, by (source, external id): one query, none if none."""
    wanted = {(e.source, e.agent.external_id) for e in events if e.on_timeline and e.agent}
    if not wanted:
        return {}
    return {
        (agent.source, agent.external_id): agent
        for agent in Agent.objects.filter(source__in={s for s, _ in wanted}, external_id__in={x for _, x in wanted})
    }


def _interaction_locked(event: NormalizedEvent) -> Interaction | None:
    return Interaction.objects.select_for_update().filter(source=event.source, external_id=event.external_id).first()


def promises_keep(*, interaction: Interaction) -> int:
    """Mark kept the promises this outbound contact fulfils; returns how many.

    A promise is kept by an outbound contact with its customer made after the promise was created, on its
    channel (or any channel when it names none), and on its case — or on no case at all, since a callback
    logged by a phone system rarely knows the ticket. Requires the caller's transaction; the interaction's
    own save invalidates the customer's card.
    """
    if interaction.direction != Direction.OUTBOUND or not interaction.is_contact:
        return 0
    promises = Promise.objects.outstanding().filter(
        Q(channel="") | Q(channel=interaction.channel),
        customer_id=interaction.customer_id,
        created_at__lte=interaction.occurred_at,
    )
    if interaction.case_id:
        promises = promises.filter(Q(case__isnull=True) | Q(case_id=interaction.case_id))
    return promises.update(
        status=PromiseStatus.KEPT, kept_at=interaction.occurred_at, kept_by=interaction, updated_at=timezone.now()
    )


@transaction.atomic
def promise_create(
    *,
    customer: Customer,
    kind: str,
    due_at: datetime,
    case: Case | None = None,
    owner: Agent | None = None,
    channel: str = "",
    note: str = "",
) -> Promise:
    """Record a callback or follow-up owed to the customer (the caller has checked the case is theirs)."""
    return Promise.objects.create(
        customer=customer, case=case, owner=owner, kind=kind, due_at=due_at, channel=channel, note=note
    )


@transaction.atomic
def promise_update(*, promise: Promise, changes: dict) -> Promise:
    """Change a promise's due time, owner, channel, note or status. Kept by hand records when; a new due
    time in the future reopens an overdue promise."""
    for field, value in changes.items():
        setattr(promise, field, value)
    if changes.get("status") == PromiseStatus.KEPT and promise.kept_at is None:
        promise.kept_at = timezone.now()
    if "due_at" in changes and promise.status == PromiseStatus.OVERDUE and promise.due_at > timezone.now():
        promise.status = PromiseStatus.OPEN
    promise.save()
    return promise


def promises_mark_overdue(*, now=None, limit: int = 5000) -> int:
    """Mark open promises past their due time overdue (the card flags them from due_at at read time too;
    this is what supervisors list and filter on). Returns how many were marked."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Promise.objects.filter(status=PromiseStatus.OPEN, due_at__lt=now)
            .order_by("due_at")
            .values_list("id", "customer_id")[:limit]
        )
        marked = Promise.objects.filter(id__in=[pk for pk, _ in due], status=PromiseStatus.OPEN).update(
            status=PromiseStatus.OVERDUE, updated_at=now
        )
        customer_ids = {customer_id for _, customer_id in due}
        # .update() sends no signals: invalidate the cards said otherwise to be fresh.
        transaction.on_commit(lambda: card_changed(customer_ids))
    return marked


@transaction.atomic
def handover_create(*, case: Case, from_agent: Agent, to_agent: Agent, note: str) -> Handover:
    """Hand a case to another agent: the note goes on the case (and the next agent's card), and the
    returned handover carries the script for the three-way introduction."""
    return Handover.objects.create(
        case=case,
        from_agent=from_agent,
        to_agent=to_agent,
        note=note,
        script=handover_script(case=case, to_agent=to_agent, now=timezone.now()),
    )


PROFILE_FIELDS = ("name", "photo_url", "started_at", "expertise", "languages", "personal_line", "is_active")


@transaction.atomic
def agent_save(*, source: str, external_id: str, profile: dict) -> tuple[Agent, bool]:
    """Create the agent, or update the profile of the one this source already knows by external_id (an
    agent first seen in events gets their profile this way). Returns (agent, created)."""
    agent, created = Agent.objects.select_for_update().get_or_create(
        source=source, external_id=external_id, defaults={k: v for k, v in profile.items() if k in PROFILE_FIELDS}
    )
    if not created and profile:
        for field in PROFILE_FIELDS:
            if field in profile:
                setattr(agent, field, profile[field])
        agent.save()
    return agent, created
