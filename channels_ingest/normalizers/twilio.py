"""Twilio voice status callbacks (form-encoded): one call is one interaction, keyed by CallSid, updated by
each callback; SequenceNumber (or the callback's time) orders callbacks that arrive late or twice."""

from datetime import timedelta

from channels_ingest.normalizers import fields
from channels_ingest.normalizers.event import AgentRef, Delivery, NormalizationError, NormalizedEvent
from customer_memory.choices import IdentifierKind
from interactions.choices import Channel, Direction

# Twilio's call statuses in the order a call goes through them; the last five end it.
STATUSES = ("queued", "initiated", "ringing", "in-progress", "completed", "busy", "no-answer", "canceled", "failed")
OUTCOMES = {
    "completed": "answered",
    "busy": "missed",
    "no-answer": "missed",
    "failed": "missed",
    # Hung up (or cancelled) before anyone answered.
    "canceled": "abandoned",
}
# What carriers and Twilio put in From when the caller withholds their number.
WITHHELD = {"anonymous", "restricted", "unknown", "private", "unavailable", "+266696687", "+7378742833", "+86282452253"}


def _param(payload: dict, name: str):
    value = payload.get(name)
    # A form may repeat a field; Twilio does not, so the first value stands.
    return value[0] if isinstance(value, list) and value else value


def delivery_key(payload) -> str:
    """CallSid and the callback's SequenceNumber (or status): each callback of a call is its own delivery."""
    if not isinstance(payload, dict):
        raise NormalizationError("the callback must be form fields")
    call_sid = fields.key(_param(payload, "CallSid"), "CallSid")
    status = _param(payload, "CallStatus")
    if status not in STATUSES:
        raise NormalizationError(f"CallStatus: {status!r} is not one of {', '.join(STATUSES)}")
    sequence = _param(payload, "SequenceNumber")
    if sequence not in (None, ""):
        return fields.compound_key(call_sid, fields.key(sequence, "SequenceNumber"))
    return fields.compound_key(call_sid, status)


def normalize(payload, delivery: Delivery) -> NormalizedEvent:
    delivery_key(payload)
    status = _param(payload, "CallStatus")
    direction = Direction.INBOUND if _param(payload, "Direction") in (None, "", "inbound") else Direction.OUTBOUND
    caller = fields.text(_param(payload, "From"), "From", max_length=200)
    called = fields.text(_param(payload, "To"), "To", max_length=200)
    customer_side, company_side = (caller, called) if direction == Direction.INBOUND else (called, caller)
    agent = None
    for side in (company_side, customer_side):
        # A call routed to a Twilio Client or SIP endpoint names the agent who took it.
        if side.startswith(("client:", "sip:")):
            agent = AgentRef(external_id=side, name=side.split(":", 1)[1].split("@")[0])
    if customer_side.lower() in WITHHELD or not customer_side:
        raise NormalizationError("From: the caller withheld their number, so there is no customer to file it under")
    if customer_side.startswith(("client:", "sip:")):
        raise NormalizationError(f"{customer_side!r}: a call between agents, not with a customer")
    phone = fields.identifier(IdentifierKind.PHONE, customer_side, "From" if direction == Direction.INBOUND else "To")

    stamp = _param(payload, "Timestamp")
    moment = fields.rfc2822_datetime(stamp, "Timestamp") if stamp else delivery.received_at
    moment = fields.not_after_arrival(moment, delivery.received_at, "Timestamp")
    duration = _seconds(_param(payload, "CallDuration"), "CallDuration")
    outcome = OUTCOMES.get(status, "in_progress" if status == "in-progress" else "ringing")
    if _param(payload, "QueueResult") in ("hangup", "leave") and outcome != "answered":
        outcome = "abandoned"
    # A final callback is sent when the call ends: its start is the end less the duration.
    started = moment - timedelta(seconds=duration) if duration and status in OUTCOMES else moment
    sequence = _param(payload, "SequenceNumber")
    revision = (
        _seconds(sequence, "SequenceNumber", limit=10**15)
        if sequence not in (None, "")
        else fields.millis(moment) * 10 + STATUSES.index(status)
    )
    attributes = {
        "call_status": status,
        "outcome": outcome,
        "duration_seconds": duration,
        "from": caller,
        "to": called,
    }
    for name, attribute in (
        ("AnsweredBy", "answered_by"),
        ("ForwardedFrom", "forwarded_from"),
        ("CallerName", "caller_name"),
        ("RecordingUrl", "recording_url"),
        ("ParentCallSid", "parent_call_sid"),
        ("QueueTime", "queue_seconds"),
    ):
        if _param(payload, name) not in (None, ""):
            attributes[attribute] = fields.text(_param(payload, name), name, max_length=500)
    return NormalizedEvent(
        source=delivery.source,
        external_id=fields.key(_param(payload, "CallSid"), "CallSid"),
        channel=Channel.VOICE,
        type="call",
        direction=direction,
        occurred_at=started,
        identifiers=[phone],
        summary=_summary(direction, outcome, duration),
        agent=agent,
        attributes=attributes,
        revision=revision,
    )


def _seconds(value, field: str, limit: int = 10**7) -> int:
    if value in (None, ""):
        return 0
    try:
        number = int(str(value).strip())
    except ValueError:
        raise NormalizationError(f"{field}: {value!r} is not a whole number") from None
    if not 0 <= number < limit:
        raise NormalizationError(f"{field}: {number} is out of range")
    return number


def _summary(direction: str, outcome: str, duration: int) -> str:
    way = "Inbound" if direction == Direction.INBOUND else "Outbound"
    if outcome == "answered":
        minutes, seconds = divmod(duration, 60)
        length = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
        return f"{way} call, {length}"
    if outcome == "missed":
        return f"Missed {way.lower()} call"
    if outcome == "abandoned":
        return f"Abandoned {way.lower()} call: hung up before it was answered"
    return f"{way} call {'in progress' if outcome == 'in_progress' else 'ringing'}"
