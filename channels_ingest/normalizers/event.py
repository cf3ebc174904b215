"""The normalized event: what every wire format is turned into, and what linking consumes.

It is stored as JSON on the raw event between the normalize and link steps, so it round-trips through
plain dicts (`to_json` / `from_json`).
"""

from dataclasses import asdict, dataclass, field
from datetime import datetime

from customer_memory.identifiers import ObservedIdentifier


class NormalizationError(ValueError):
    """The payload cannot become an event; the message names the field and the problem."""


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

    def to_json(self) -> dict:
        data = asdict(self)
        data["occurred_at"] = self.occurred_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict) -> "NormalizedEvent":
        data = dict(data)
        data["occurred_at"] = datetime.fromisoformat(data["occurred_at"])
        data["identifiers"] = [ObservedIdentifier(**item) for item in data["identifiers"]]
        data["case"] = CaseRef(**data["case"]) if data.get("case") else None
        data["agent"] = AgentRef(**data["agent"]) if data.get("agent") else None
        return cls(**data)
