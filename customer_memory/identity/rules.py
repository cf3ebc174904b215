"""The deterministic linking rules, read from settings.IDENTITY_RULES (data, not code branches)."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class IdentifierRule:
    kind: str
    priority: int = 0
    joins: str = "never"  # "always", "verified" or "never"
    limit: int | None = None

    def joins_customers(self, *, verified: bool) -> bool:
        """Whether an event carrying this identifier vouches that its owner and the event's person are one."""
        return self.joins == "always" or (self.joins == "verified" and verified)


def identifier_rule(kind: str) -> IdentifierRule:
    """The rule of one identifier kind; a kind the settings do not name never joins and has no limit."""
    spec = settings.IDENTITY_RULES.get(kind, {})
    return IdentifierRule(
        kind=kind, priority=spec.get("priority", 0), joins=spec.get("joins", "never"), limit=spec.get("limit")
    )


def limited_kinds() -> dict[str, int]:
    """Kinds a customer may hold only so many values of, with the limit."""
    return {kind: spec["limit"] for kind, spec in settings.IDENTITY_RULES.items() if spec.get("limit")}
