"""Reading fields of channel payloads: lenient where real senders are sloppy, strict where a wrong value
would mislead (a date that cannot be read is refused, not guessed). Every failure is a NormalizationError."""

import hashlib
import json
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.utils.dateparse import parse_date, parse_datetime

from channels_ingest.normalizers.event import NormalizationError
from customer_memory.identifiers import InvalidIdentifier, ObservedIdentifier, normalize_identifier


def text(value, field: str, *, max_length: int = 300, required: bool = False) -> str:
    """A string (numbers are written out), trimmed; over `max_length` it is cut, since the sender cannot
    shorten what a customer wrote."""
    if value is None or value == "":
        if required:
            raise NormalizationError(f"{field}: required")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise NormalizationError(f"{field}: must be a string, not {type(value).__name__}")
    result = str(value).strip()
    if required and not result:
        raise NormalizationError(f"{field}: required")
    return result if len(result) <= max_length else result[: max_length - 1] + "…"


def key(value, field: str) -> str:
    """An id used as a key (a call sid, a message id): never cut, at most 255 characters."""
    result = text(value, field, max_length=10_000, required=True)
    if len(result) > 255:
        raise NormalizationError(f"{field}: longer than 255 characters")
    return result


def iso_datetime(value, field: str) -> datetime:
    """An ISO 8601 date-time, or a Unix time in seconds or milliseconds, as an aware UTC datetime."""
    parsed = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        try:
            parsed = datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            parsed = None
    elif isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        raise NormalizationError(f"{field}: {value!r} is not an ISO 8601 date-time")
    return _utc(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC), field, value)


def rfc2822_datetime(value, field: str) -> datetime:
    """A date-time as email and Twilio write it: "Mon, 23 Nov 2026 09:45:12 +0000"."""
    try:
        parsed = parsedate_to_datetime(value) if isinstance(value, str) else None
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None:
        raise NormalizationError(f"{field}: {value!r} is not an RFC 2822 date-time")
    return _utc(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC), field, value)


def _utc(parsed: datetime, field: str, raw) -> datetime:
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise NormalizationError(f"{field}: {raw!r} is out of range") from None


def not_after_arrival(moment: datetime, received_at: datetime, field: str) -> datetime:
    """Refuse a time further past the delivery's arrival than senders' clocks drift: it would stand as the
    customer's last contact until that day came."""
    if moment > received_at + settings.INGEST_MAX_CLOCK_SKEW:
        raise NormalizationError(f"{field}: {moment.isoformat()} is after the event arrived ({received_at:%Y-%m-%d})")
    return moment


def a_date(value, field: str) -> date:
    """A calendar date, from "YYYY-MM-DD" or the date part of an ISO date-time."""
    if isinstance(value, str):
        try:
            parsed = parse_date(value.strip()[:10])
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed
    raise NormalizationError(f"{field}: {value!r} is not a date (YYYY-MM-DD)")


def identifier(kind: str, value, field: str, *, verified: bool = False) -> ObservedIdentifier:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise NormalizationError(f"{field}: must be a string")
    try:
        return ObservedIdentifier(kind=kind, value=normalize_identifier(kind, value), verified=verified)
    except InvalidIdentifier as exc:
        raise NormalizationError(f"{field}: {exc}") from None


def identifier_or_none(kind: str, value, *, verified: bool = False) -> ObservedIdentifier | None:
    """The identifier when `value` is one; None for a blank or unreadable value (a web form's "n/a")."""
    if value in (None, ""):
        return None
    try:
        return identifier(kind, value, kind, verified=verified)
    except NormalizationError:
        return None


def unique(identifiers) -> list[ObservedIdentifier]:
    """Drop blanks and repeats, keeping the first occurrence (a verified copy wins over an unverified one)."""
    result: dict[tuple[str, str], ObservedIdentifier] = {}
    for item in identifiers:
        if item is None:
            continue
        known = result.get((item.kind, item.value))
        if known is None or (item.verified and not known.verified):
            result[(item.kind, item.value)] = item
    return list(result.values())


def content_key(payload) -> str:
    """A delivery key for payloads that carry no id of their own: a resend of the same bytes is the same key."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload, sort_keys=True, default=str).encode()
    return "sha256:" + hashlib.sha256(body).hexdigest()


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def compound_key(*parts: str) -> str:
    """A delivery key made of several ids, within the inbox's 255 characters: a longer one is hashed."""
    joined = ":".join(parts)
    if len(joined) <= 255:
        return joined
    return "sha256:" + hashlib.sha256(joined.encode()).hexdigest()
