"""Segment tracking spec messages (identify, track, page, screen, group, alias), one message per event.

identify, alias and group only say who someone is: identifiers and traits, no timeline entry. track, page
and screen are web interactions. userId and anonymousId of one message are stitched (linking joins them
to one customer); alias stitches previousId to userId.
"""

from datetime import datetime

from channels_ingest.normalizers import fields
from channels_ingest.normalizers.event import Delivery, NormalizationError, NormalizedEvent
from customer_memory.choices import IdentifierKind
from interactions.choices import Channel, Direction

MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")
TIMELINE_TYPES = ("track", "page", "screen")
# Segment's reserved traits, under the names the customer record reads.
RESERVED_TRAITS = {
    "name": "name",
    "firstName": "first_name",
    "first_name": "first_name",
    "lastName": "last_name",
    "last_name": "last_name",
    "language": "language",
}
MAX_CUSTOM_TRAITS = 100
# Trait names the customer record interprets (names, language, dates, the address as an object).
RECORD_TRAITS = {
    "name",
    "first_name",
    "last_name",
    "preferred_name",
    "language",
    "customer_since",
    "date_of_birth",
    "address",
}


def delivery_key(message: dict) -> str:
    """The key a resend of this message is recognised by: its messageId, which SDK retries keep."""
    message_id = message.get("messageId")
    if isinstance(message_id, str | int) and not isinstance(message_id, bool) and str(message_id).strip():
        return fields.key(message_id, "messageId")
    return fields.content_key(message)


def delivery_key_checked(message) -> str:
    """The delivery key of a message the service can accept; NormalizationError naming why not."""
    error = envelope_error(message)
    if error:
        raise NormalizationError(error)
    return delivery_key(message)


def envelope_error(message) -> str | None:
    """Why the service cannot accept this message at all (answered 400), or None."""
    if not isinstance(message, dict):
        return f"a message must be a JSON object, not {type(message).__name__}"
    kind = message.get("type")
    if kind not in MESSAGE_TYPES:
        return f"type: {kind!r} is not one of {', '.join(MESSAGE_TYPES)}"
    if not any(_id(message.get(name)) for name in ("userId", "anonymousId")):
        return "userId or anonymousId: one is required"
    if kind == "alias" and not (_id(message.get("previousId")) and _id(message.get("userId"))):
        return "alias: previousId and userId are required"
    if kind == "track" and not _id(message.get("event")):
        return "track: event is required"
    if kind == "group" and not _id(message.get("groupId")):
        return "group: groupId is required"
    message_id = message.get("messageId")
    if message_id is not None and (not isinstance(message_id, str | int) or len(str(message_id)) > 255):
        return "messageId: must be a string of at most 255 characters"
    return None


def _id(value) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value).strip()


def normalize(payload, delivery: Delivery) -> NormalizedEvent:
    error = envelope_error(payload)
    if error:
        raise NormalizationError(error)
    kind = payload["type"]
    occurred_at = _occurred_at(payload, delivery.received_at)
    identifiers = _identifiers(payload)
    if not identifiers:
        raise NormalizationError("userId or anonymousId: no usable identifier")
    event = NormalizedEvent(
        source=delivery.source,
        external_id=delivery_key(payload),
        channel=Channel.WEB,
        occurred_at=occurred_at,
        identifiers=identifiers,
        type=kind,
        direction=Direction.INBOUND,
        on_timeline=kind in TIMELINE_TYPES,
    )
    if kind == "identify":
        event.traits = _traits(_object(payload, "traits"))
    elif kind == "group":
        group = {"id": _id(payload["groupId"]), **_object(payload, "traits")}
        event.traits = {"group": group}
    elif kind in TIMELINE_TYPES:
        event.summary, event.attributes = _activity(kind, payload)
    return event


def _object(payload: dict, name: str) -> dict:
    value = payload.get(name)
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise NormalizationError(f"{name}: must be an object")
    return value


def _occurred_at(payload: dict, received_at: datetime) -> datetime:
    """When it happened on the device, corrected as Segment does for a device clock that is off:
    receivedAt - (sentAt - timestamp), since sentAt and timestamp come from the same clock."""
    raw = payload.get("timestamp") or payload.get("originalTimestamp")
    if raw in (None, ""):
        return received_at
    timestamp = fields.iso_datetime(raw, "timestamp")
    if payload.get("sentAt"):
        sent_at = fields.iso_datetime(payload["sentAt"], "sentAt")
        try:
            corrected = received_at - (sent_at - timestamp)
        except OverflowError:
            raise NormalizationError("timestamp: out of range against sentAt") from None
        return min(corrected, received_at)
    return fields.not_after_arrival(timestamp, received_at, "timestamp")


def _identifiers(payload: dict) -> list:
    found = []
    user_id, anonymous_id = _id(payload.get("userId")), _id(payload.get("anonymousId"))
    if user_id:
        found.append(fields.identifier(IdentifierKind.USER_ID, user_id, "userId"))
    if anonymous_id:
        found.append(fields.identifier(IdentifierKind.ANONYMOUS_ID, anonymous_id, "anonymousId"))
    if payload["type"] == "alias":
        # previousId is what the visitor was known by before signing in: their anonymousId (the SDKs' alias
        # call). It is not also read as a user id: a customer holds one user id (IDENTITY_RULES), so an alias
        # from one user id to another (a rename) is a merge for an analyst to review, not one to make here.
        previous = _id(payload.get("previousId"))
        found.append(fields.identifier(IdentifierKind.ANONYMOUS_ID, previous, "previousId"))
    if payload["type"] == "identify":
        traits = _object(payload, "traits")
        # A web form's email or phone can be anything; an unreadable one stays a trait, not an identifier.
        found.append(fields.identifier_or_none(IdentifierKind.EMAIL, traits.get("email")))
        found.append(fields.identifier_or_none(IdentifierKind.PHONE, traits.get("phone")))
    return fields.unique(found)


def _traits(traits: dict) -> dict:
    """identify traits as customer traits: reserved ones under the record's names, the rest as they are."""
    result = {}
    for name, value in traits.items():
        if value in (None, "", {}, []):
            continue
        mapped = RESERVED_TRAITS.get(name)
        if mapped and isinstance(value, str):
            result[mapped] = fields.text(value, f"traits.{name}", max_length=200)
        elif name == "createdAt":
            # The spec's "date the user's account was first created": the customer's tenure.
            try:
                result["customer_since"] = _date_of(value).isoformat()
            except NormalizationError:
                result["createdAt"] = value
        elif name == "birthday":
            try:
                result["date_of_birth"] = _date_of(value).isoformat()
            except NormalizationError:
                result["birthday"] = value
        elif name == "address" and isinstance(value, dict):
            result["address"] = _address(value)
        elif name in RECORD_TRAITS:
            # A custom trait under a name the customer record reads must not pass for the real one.
            result[f"segment_{name}"] = value
        elif len(result) < MAX_CUSTOM_TRAITS and 0 < len(name) <= 64:
            result[name] = value
    return result


def _date_of(value):
    if isinstance(value, str) and len(value.strip()) > 10:
        return fields.iso_datetime(value, "createdAt").date()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return fields.iso_datetime(value, "createdAt").date()
    return fields.a_date(value, "date")


def _address(value: dict) -> dict:
    names = {"street": "line1", "city": "city", "postalCode": "postcode", "state": "region", "country": "country"}
    return {names.get(k, k): str(v) for k, v in value.items() if isinstance(v, str | int) and str(v).strip()}


def _activity(kind: str, payload: dict) -> tuple[str, dict]:
    properties = _object(payload, "properties")
    context = _object(payload, "context")
    page = context.get("page") if isinstance(context.get("page"), dict) else {}
    url = properties.get("url") or page.get("url") or ""
    title = properties.get("title") or page.get("title") or ""
    attributes = {"properties": properties}
    if url:
        attributes["url"] = fields.text(url, "properties.url", max_length=2000)
    if kind == "track":
        name = fields.text(payload["event"], "event", max_length=200)
        attributes["event"] = name
        return name, attributes
    name = fields.text(payload.get("name"), "name", max_length=200)
    label = name or fields.text(title, "properties.title", max_length=200) or attributes.get("url", "")
    attributes["name"] = name
    what = "page" if kind == "page" else "screen"
    return (f"Viewed {what}: {label}" if label else f"Viewed a {what}"), attributes
