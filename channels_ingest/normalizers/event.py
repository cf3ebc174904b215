"""The normalized event: what every wire format is turned into, and what linking consumes.

It is stored as JSON on the raw event between the normalize and link steps, so it round-trips through
plain dicts (`to_json` / `from_json`).
"""

from dataclasses import dataclass, field, fields
from datetime import datetime

from customer_memory.identifiers import ObservedIdentifier


class NormalizationError(ValueError):
    """The payload cannot become an event; the message names the field and the problem."""


@dataclass(frozen=True)
class Delivery:
    """What the inbox knows of a delivery besides its payload: who sent it (the ingest source name) and
    when it arrived. Formats whose payload does not name its source or time read them from here, so that
    normalizing a stored event again gives the same result."""

    source: str
    received_at: datetime


@dataclass(frozen=True)
class CaseRef:
    external_id: str
    title: str = ""
    status: str = ""


@dataclass(frozen=True)
class AgentRef:
    external_id: str
    name: str = ""


@dataclass
class NormalizedEvent:
    """One delivery, normalized. `external_id` is the interaction's key: several deliveries (a call's status
    callbacks, a conversation's messages) can carry the same one and update one interaction, where the
    content of the highest `revision` wins and `messages` accumulate, merged by their id."""

    source: str
    external_id: str
    channel: str
    occurred_at: datetime
    identifiers: list[ObservedIdentifier]
    type: str = ""
    direction: str = "inbound"
    summary: str = ""
    traits: dict = field(default_factory=dict)
    case: CaseRef | None = None
    agent: AgentRef | None = None
    attributes: dict = field(default_factory=dict)
    # Ordering of deliveries about one interaction (a sequence number, a last-update time in ms).
    revision: int = 0
    # Auto-replies, bounces, delivery reports: on the timeline, but not a contact by the customer.
    automated: bool = False
    # False for events that only state who someone is (Segment identify, alias, group): no interaction.
    on_timeline: bool = True
    # Conversation turns: {"id", "at" (ISO 8601), "author" (customer, agent, bot, system), "name", "text"}.
    messages: list[dict] = field(default_factory=list)
    # External ids of the interactions this one answers (an email's In-Reply-To and References): it joins
    # their case when one of them is already on record.
    replies_to: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """The same dict as dataclasses.asdict, built without its deep copy nor its recursion (together a
        tenth of the time on the accept path); nested dicts and lists are shared with the event, so treat
        the result as read-only."""
        data = {name: getattr(self, name) for name in _FIELD_NAMES}
        data["occurred_at"] = self.occurred_at.isoformat()
        data["identifiers"] = [{"kind": i.kind, "value": i.value, "verified": i.verified} for i in self.identifiers]
        case, agent = self.case, self.agent
        data["case"] = {"external_id": case.external_id, "title": case.title, "status": case.status} if case else None
        data["agent"] = {"external_id": agent.external_id, "name": agent.name} if agent else None
        return data

    @classmethod
    def from_json(cls, data: dict) -> "NormalizedEvent":
        data = dict(data)
        data["occurred_at"] = datetime.fromisoformat(data["occurred_at"])
        data["identifiers"] = [ObservedIdentifier(**item) for item in data["identifiers"]]
        data["case"] = CaseRef(**data["case"]) if data.get("case") else None
        data["agent"] = AgentRef(**data["agent"]) if data.get("agent") else None
        return cls(**data)


_FIELD_NAMES = tuple(f.name for f in fields(NormalizedEvent))
