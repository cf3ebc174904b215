"""The generic canonical event of DESIGN.md, for any system that can shape its own JSON."""

from datetime import UTC, date

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from channels_ingest.normalizers.event import AgentRef, CaseRef, NormalizationError, NormalizedEvent
from customer_memory.choices import IdentifierKind
from customer_memory.identifiers import InvalidIdentifier, ObservedIdentifier, normalize_identifier
from interactions.choices import CaseStatus, Channel, Direction

# Keys of the event's "customer" object that are identifiers, and the kind each one is.
IDENTIFIER_KEYS = {
    "phone": IdentifierKind.PHONE,
    "email": IdentifierKind.EMAIL,
    "account_id": IdentifierKind.ACCOUNT,
    "user_id": IdentifierKind.USER_ID,
    "handle": IdentifierKind.HANDLE,
    "anonymous_id": IdentifierKind.ANONYMOUS_ID,
}
TRAIT_KEYS = ("name", "first_name", "last_name", "preferred_name", "language", "date_of_birth", "address")
MAX_TEXT = 10_000
# Django builds an enum's .values anew on every access: read them once, for the accept path's sake.
CHANNELS = frozenset(Channel.values)
DIRECTIONS = frozenset(Direction.values)
CASE_STATUSES = frozenset(CaseStatus.values)


def normalize(payload, delivery=None) -> NormalizedEvent:
    """The payload names its own source and time: `delivery` is not needed."""
    if not isinstance(payload, dict):
        raise NormalizationError(f"an event must be a JSON object, not {type(payload).__name__}")
    customer = payload.get("customer")
    if not isinstance(customer, dict):
        raise NormalizationError("customer: required, an object with at least one identifier")
    channel = _required_text(payload, "channel")
    if channel not in CHANNELS:
        raise NormalizationError(f"channel: {channel!r} is not a channel (one of {', '.join(Channel.values)})")
    direction = _optional_text(payload, "direction") or Direction.INBOUND
    if direction not in DIRECTIONS:
        raise NormalizationError(f"direction: {direction!r} is not one of {', '.join(Direction.values)}")
    attributes = payload.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise NormalizationError("attributes: must be an object")
    return NormalizedEvent(
        source=_required_text(payload, "source", max_length=100),
        external_id=_required_text(payload, "external_id", max_length=255),
        channel=channel,
        type=_optional_text(payload, "type", max_length=64),
        direction=direction,
        occurred_at=_datetime(payload.get("occurred_at"), "occurred_at"),
        summary=_optional_text(payload, "summary", max_length=MAX_TEXT),
        identifiers=_identifiers(customer),
        traits=_traits(customer),
        case=_case(payload.get("case")),
        agent=_agent(payload.get("agent")),
        attributes=attributes,
    )


def _identifiers(customer: dict) -> list[ObservedIdentifier]:
    verified_kinds = customer.get("verified") or []
    if not isinstance(verified_kinds, list):
        raise NormalizationError('customer.verified: must be a list of identifier keys, e.g. ["phone"]')
    identifiers = []
    for key, kind in IDENTIFIER_KEYS.items():
        raw = customer.get(key)
        if raw in (None, ""):
            continue
        if not isinstance(raw, str | int):
            raise NormalizationError(f"customer.{key}: must be a string")
        try:
            value = normalize_identifier(kind, raw)
        except InvalidIdentifier as exc:
            raise NormalizationError(f"customer.{key}: {exc}") from None
        identifiers.append(ObservedIdentifier(kind=kind, value=value, verified=key in verified_kinds))
    if not identifiers:
        raise NormalizationError(f"customer: needs at least one identifier ({', '.join(IDENTIFIER_KEYS)})")
    return identifiers


def _traits(customer: dict) -> dict:
    traits = {}
    for key in TRAIT_KEYS:
        value = customer.get(key)
        if value in (None, "", {}):
            continue
        if key == "address":
            if not isinstance(value, dict):
                raise NormalizationError("customer.address: must be an object (line1, city, postcode, country, …)")
            traits[key] = {k: str(v) for k, v in value.items() if v not in (None, "")}
        elif key == "date_of_birth":
            traits[key] = _date(value, "customer.date_of_birth").isoformat()
        else:
            traits[key] = _text(value, f"customer.{key}", max_length=200)
    if customer.get("customer_since") not in (None, ""):
        traits["customer_since"] = _date(customer["customer_since"], "customer.customer_since").isoformat()
    return traits


def _case(value) -> CaseRef | None:
    if value in (None, {}):
        return None
    if not isinstance(value, dict):
        raise NormalizationError("case: must be an object with external_id")
    status = _optional_text(value, "status", field="case.status") or CaseStatus.OPEN
    if status not in CASE_STATUSES:
        raise NormalizationError(f"case.status: {status!r} is not one of {', '.join(CaseStatus.values)}")
    return CaseRef(
        external_id=_required_text(value, "external_id", field="case.external_id", max_length=255),
        title=_optional_text(value, "title", field="case.title", max_length=300),
        status=status,
    )


def _agent(value) -> AgentRef | None:
    if value in (None, {}):
        return None
    if not isinstance(value, dict):
        raise NormalizationError("agent: must be an object with external_id")
    return AgentRef(
        external_id=_required_text(value, "external_id", field="agent.external_id", max_length=255),
        name=_optional_text(value, "name", field="agent.name", max_length=200),
    )


def _text(value, field: str, *, max_length: int) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise NormalizationError(f"{field}: must be a string")
    text = str(value).strip()
    if len(text) > max_length:
        raise NormalizationError(f"{field}: longer than {max_length} characters")
    return text


def _required_text(obj: dict, key: str, *, field: str | None = None, max_length: int = 100) -> str:
    field = field or key
    if obj.get(key) in (None, ""):
        raise NormalizationError(f"{field}: required")
    return _text(obj[key], field, max_length=max_length)


def _optional_text(obj: dict, key: str, *, field: str | None = None, max_length: int = 100) -> str:
    if obj.get(key) in (None, ""):
        return ""
    return _text(obj[key], field or key, max_length=max_length)


def _datetime(value, field: str):
    if value in (None, ""):
        raise NormalizationError(f"{field}: required, an ISO 8601 date-time such as 2026-11-23T09:30:00Z")
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise NormalizationError(f"{field}: {value!r} is not an ISO 8601 date-time")
    # Senders that omit the offset mean UTC far more often than the server's local time.
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    try:
        # A valid ISO date near year 1 or 9999 can leave the calendar once moved to UTC: the database
        # would store it, and Python could never read it back.
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        raise NormalizationError(f"{field}: {value!r} is out of range") from None
    # A contact dated in the future would stand as the customer's "last contact" until that date comes.
    if parsed > timezone.now() + settings.INGEST_MAX_CLOCK_SKEW:
        raise NormalizationError(f"{field}: {value!r} is in the future")
    return parsed


def _date(value, field: str) -> date:
    try:
        parsed = parse_date(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise NormalizationError(f"{field}: {value!r} is not a date (YYYY-MM-DD)")
    return parsed
