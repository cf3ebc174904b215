"""Amazon Connect contact trace records (CTR JSON): one contact is one interaction, keyed by ContactId.

Connect publishes a contact's record again when it changes (after-contact work, a late recording); the
record with the latest LastUpdateTimestamp wins, whatever the order they arrive in.
"""

from datetime import timedelta

from channels_ingest.normalizers import fields
from channels_ingest.normalizers.event import AgentRef, Delivery, NormalizationError, NormalizedEvent
from customer_memory.choices import IdentifierKind
from interactions.choices import Channel, Direction

CHANNELS = {"VOICE": Channel.VOICE, "CHAT": Channel.CHAT, "EMAIL": Channel.EMAIL}
OUTBOUND_METHODS = {"OUTBOUND", "CALLBACK", "API", "AGENT_REPLY"}
# Contact attributes (set by the contact flow) that carry a customer identifier, by lower-cased name.
ATTRIBUTE_IDENTIFIERS = {
    "email": IdentifierKind.EMAIL,
    "customeremail": IdentifierKind.EMAIL,
    "phone": IdentifierKind.PHONE,
    "accountid": IdentifierKind.ACCOUNT,
    "account_id": IdentifierKind.ACCOUNT,
    "accountnumber": IdentifierKind.ACCOUNT,
    "customerid": IdentifierKind.ACCOUNT,
}


def delivery_key(payload) -> str:
    """ContactId and LastUpdateTimestamp: each published version of a record is its own delivery."""
    if not isinstance(payload, dict):
        raise NormalizationError("a contact trace record must be a JSON object")
    contact_id = fields.key(payload.get("ContactId"), "ContactId")
    updated = payload.get("LastUpdateTimestamp") or payload.get("DisconnectTimestamp") or ""
    return fields.compound_key(contact_id, fields.text(updated, "LastUpdateTimestamp", max_length=100))


def normalize(payload, delivery: Delivery) -> NormalizedEvent:
    delivery_key(payload)
    name = payload.get("Channel") or "VOICE"
    channel = CHANNELS.get(name) if isinstance(name, str) else None
    if channel is None:
        raise NormalizationError(f"Channel: {payload.get('Channel')!r} is not a customer contact (VOICE, CHAT, EMAIL)")
    started = _time(payload, "InitiationTimestamp", delivery)
    ended = _time(payload, "DisconnectTimestamp", delivery, required=False)
    updated = _time(payload, "LastUpdateTimestamp", delivery, required=False) or ended or started
    method = fields.text(payload.get("InitiationMethod"), "InitiationMethod", max_length=50)
    direction = Direction.OUTBOUND if method in OUTBOUND_METHODS else Direction.INBOUND
    agent = _object(payload, "Agent")
    queue = _object(payload, "Queue")
    attributes_in = _object(payload, "Attributes")
    answered = bool(agent and agent.get("ConnectedToAgentTimestamp", True))
    if answered:
        outcome = "answered"
    elif queue and not queue.get("DequeueTimestamp"):
        outcome = "abandoned"  # the customer left the queue before an agent took the contact
    else:
        outcome = "missed"
    duration = int((ended - started).total_seconds()) if ended and ended >= started else 0
    transcript = _transcript(payload.get("Transcript"), started)
    attributes = {
        "outcome": outcome,
        "duration_seconds": duration,
        "initiation_method": method,
        "disconnect_reason": fields.text(payload.get("DisconnectReason"), "DisconnectReason", max_length=100),
        "queue": fields.text(queue.get("Name"), "Queue.Name", max_length=200) if queue else "",
        "queue_seconds": queue.get("Duration") if queue and isinstance(queue.get("Duration"), int) else None,
        "contact_attributes": attributes_in,
        "initial_contact_id": fields.text(payload.get("InitialContactId"), "InitialContactId", max_length=255),
    }
    return NormalizedEvent(
        source=delivery.source,
        external_id=fields.key(payload["ContactId"], "ContactId"),
        channel=channel,
        type="contact",
        direction=direction,
        occurred_at=started,
        identifiers=_identifiers(payload, attributes_in),
        summary=_summary(payload, channel, outcome, duration, queue, attributes_in),
        agent=_agent(agent),
        attributes=attributes,
        revision=fields.millis(updated),
        messages=transcript,
    )


def _object(payload: dict, name: str) -> dict:
    value = payload.get(name)
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise NormalizationError(f"{name}: must be an object")
    return value


def _time(payload: dict, name: str, delivery: Delivery, *, required: bool = True):
    value = payload.get(name)
    if value in (None, ""):
        if required:
            raise NormalizationError(f"{name}: required")
        return None
    return fields.not_after_arrival(fields.iso_datetime(value, name), delivery.received_at, name)


def _identifiers(payload: dict, attributes: dict) -> list:
    found = []
    endpoint = _object(payload, "CustomerEndpoint")
    address = endpoint.get("Address")
    kind = {"TELEPHONE_NUMBER": IdentifierKind.PHONE, "EMAIL_ADDRESS": IdentifierKind.EMAIL}.get(
        endpoint.get("Type", "TELEPHONE_NUMBER") if isinstance(endpoint.get("Type", ""), str) else ""
    )
    # A withheld or unreadable caller id: the contact may still be identified by what the flow collected.
    found.append(fields.identifier_or_none(kind, address) if kind else None)
    for name, value in attributes.items():
        kind = ATTRIBUTE_IDENTIFIERS.get(str(name).lower())
        if kind:
            found.append(fields.identifier_or_none(kind, value))
    found = fields.unique(found)
    if not found:
        shown = f" ({address!r} is not one)" if address else ""
        raise NormalizationError(
            f"CustomerEndpoint: no customer phone or email{shown}, and no identifying contact attribute"
        )
    return found


def _agent(agent: dict) -> AgentRef | None:
    if not agent:
        return None
    username = fields.text(agent.get("Username"), "Agent.Username", max_length=200)
    arn = fields.text(agent.get("ARN"), "Agent.ARN", max_length=255)
    if not (username or arn):
        return None
    return AgentRef(external_id=arn or username, name=username)


def _transcript(value, started) -> list[dict]:
    """Contact Lens style turns ({ParticipantId, Content, BeginOffsetMillis, Id}) as conversation messages."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise NormalizationError("Transcript: must be a list of turns")
    messages = []
    for index, turn in enumerate(value):
        if not isinstance(turn, dict):
            raise NormalizationError(f"Transcript[{index}]: must be an object")
        offset = turn.get("BeginOffsetMillis") or 0
        if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset < 10**10:
            raise NormalizationError(f"Transcript[{index}].BeginOffsetMillis: must be a whole number of ms")
        role = str(turn.get("ParticipantId") or turn.get("ParticipantRole") or "").upper()
        messages.append(
            {
                "id": fields.text(turn.get("Id"), f"Transcript[{index}].Id", max_length=255) or f"turn-{index}",
                "at": (started + timedelta(milliseconds=offset)).isoformat(),
                "author": "customer" if role == "CUSTOMER" else "agent" if role == "AGENT" else "system",
                "name": "",
                "text": fields.text(turn.get("Content"), f"Transcript[{index}].Content", max_length=10_000),
            }
        )
    return messages


def _summary(payload, channel, outcome, duration, queue, attributes) -> str:
    reason = attributes.get("reason") or attributes.get("Reason") or attributes.get("intent")
    kind = {"voice": "call", "chat": "chat", "email": "email"}[channel]
    if outcome == "abandoned":
        where = f" in queue {queue.get('Name')}" if queue.get("Name") else ""
        text = f"Abandoned {kind}: the customer left{where} before an agent answered"
    elif outcome == "missed":
        text = f"Missed {kind}: not connected to an agent"
    else:
        minutes, seconds = divmod(duration, 60)
        length = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
        text = f"{kind.capitalize()} with an agent, {length}"
    if isinstance(reason, str) and reason.strip():
        text += f" — {reason.strip()[:200]}"
    return text
