"""Chat: whole conversation transcripts, and single messages as they happen. One conversation is one
interaction, keyed by its id; messages from every delivery accumulate on it, deduplicated by id.

    {"conversation_id": "c-1", "visitor": {"id", "handle", "name", "email", "phone", "user_id"},
     "participants": [{"id", "role": "agent" | "bot" | "visitor", "name"}],
     "messages": [{"id", "at", "from", "text"}]            # a transcript
     "message": {"id", "at", "from", "text"}               # or one message
     "summary", "status": "open" | "closed", "case": {"external_id", "title", "status"}}
"""

from channels_ingest.normalizers import fields
from channels_ingest.normalizers.event import AgentRef, CaseRef, Delivery, NormalizationError, NormalizedEvent
from customer_memory.choices import IdentifierKind
from interactions.choices import CaseStatus, Channel, Direction

VISITOR_IDENTIFIERS = {
    "email": IdentifierKind.EMAIL,
    "phone": IdentifierKind.PHONE,
    "handle": IdentifierKind.HANDLE,
    "id": IdentifierKind.ANONYMOUS_ID,
    "anonymous_id": IdentifierKind.ANONYMOUS_ID,
    "user_id": IdentifierKind.USER_ID,
    "account_id": IdentifierKind.ACCOUNT,
}
ROLES = ("visitor", "customer", "agent", "bot", "system")
MAX_MESSAGES = 2000


def delivery_key(payload) -> str:
    """A message: the conversation and the message id. A transcript: the conversation and how far it goes
    (its message count and last message), so a longer transcript of the same conversation is new."""
    conversation, messages = _envelope(payload)
    if "message" in payload:
        return fields.compound_key(conversation, "message", messages[0]["id"])
    last = messages[-1]["id"] if messages else ""
    return fields.compound_key(conversation, "transcript", str(len(messages)), last)


def _envelope(payload) -> tuple[str, list[dict]]:
    if not isinstance(payload, dict):
        raise NormalizationError("a chat event must be a JSON object")
    conversation = fields.key(payload.get("conversation_id"), "conversation_id")
    if "message" in payload:
        raw = [payload["message"]]
    elif "messages" in payload:
        raw = payload["messages"]
        if not isinstance(raw, list):
            raise NormalizationError("messages: must be a list")
        if len(raw) > MAX_MESSAGES:
            raise NormalizationError(f"messages: {len(raw)} in one transcript; at most {MAX_MESSAGES}")
    else:
        raise NormalizationError("message or messages: one is required")
    messages = []
    for index, message in enumerate(raw):
        where = "message" if "message" in payload else f"messages[{index}]"
        if not isinstance(message, dict):
            raise NormalizationError(f"{where}: must be an object")
        messages.append({"id": fields.key(message.get("id"), f"{where}.id"), "raw": message, "where": where})
    return conversation, messages


def normalize(payload, delivery: Delivery) -> NormalizedEvent:
    conversation, envelope = _envelope(payload)
    visitor = payload.get("visitor") or {}
    if not isinstance(visitor, dict):
        raise NormalizationError("visitor: must be an object")
    participants = _participants(payload.get("participants"))
    visitor_ids = {str(visitor.get("id") or ""), str(visitor.get("handle") or "")} - {""}
    messages = [_message(item, participants, visitor_ids, delivery) for item in envelope]
    messages.sort(key=lambda m: (m["at"], m["id"]))
    times = [m["at"] for m in messages]
    started = payload.get("started_at")
    occurred_at = fields.iso_datetime(started, "started_at") if started else None
    if occurred_at is None:
        if not times:
            raise NormalizationError("started_at: required for a transcript without messages")
        occurred_at = fields.iso_datetime(times[0], "messages.at")
    occurred_at = fields.not_after_arrival(occurred_at, delivery.received_at, "started_at")
    latest = fields.iso_datetime(times[-1], "messages.at") if times else occurred_at
    first_author = messages[0]["author"] if messages else "customer"
    status = fields.text(payload.get("status"), "status", max_length=20)
    agent = _agent(messages, participants)
    attributes = {"conversation_id": conversation, "last_message_at": latest.isoformat()}
    if status:
        attributes["status"] = status
    if payload.get("tags") and isinstance(payload["tags"], list):
        attributes["tags"] = [str(tag)[:100] for tag in payload["tags"][:50]]
    return NormalizedEvent(
        source=delivery.source,
        external_id=conversation,
        channel=Channel.CHAT,
        type="conversation",
        direction=Direction.INBOUND if first_author == "customer" else Direction.OUTBOUND,
        occurred_at=occurred_at,
        identifiers=_identifiers(visitor),
        summary=fields.text(payload.get("summary"), "summary", max_length=1000),
        traits=_traits(visitor),
        case=_case(payload.get("case")),
        agent=agent,
        attributes=attributes,
        # The latest message's time orders deliveries: a late, older message cannot roll the content back.
        revision=fields.millis(latest) * 10 + (1 if status == "closed" else 0),
        messages=messages,
    )


def _participants(value) -> dict[str, dict]:
    if value in (None, ""):
        return {}
    if not isinstance(value, list):
        raise NormalizationError("participants: must be a list")
    result = {}
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise NormalizationError(f"participants[{index}]: must be an object")
        role = fields.text(item.get("role"), f"participants[{index}].role", max_length=20).lower() or "agent"
        if role not in ROLES:
            raise NormalizationError(f"participants[{index}].role: {role!r} is not one of {', '.join(ROLES)}")
        participant_id = fields.key(item.get("id"), f"participants[{index}].id")
        name = fields.text(item.get("name"), f"participants[{index}].name", max_length=200)
        result[participant_id] = {"id": participant_id, "role": role, "name": name}
    return result


def _message(item: dict, participants: dict, visitor_ids: set, delivery: Delivery) -> dict:
    raw, where = item["raw"], item["where"]
    at = fields.not_after_arrival(fields.iso_datetime(raw.get("at"), f"{where}.at"), delivery.received_at, where)
    sender = fields.text(raw.get("from"), f"{where}.from", max_length=255)
    participant = participants.get(sender)
    if participant:
        author, name = participant["role"], participant["name"]
    elif sender in visitor_ids or not sender:
        author, name = "customer", ""
    else:
        # A sender the event does not describe: the agents' side, since visitors are named in `visitor`.
        author, name = "agent", ""
    return {
        "id": item["id"],
        "at": at.isoformat(),
        "author": "customer" if author == "visitor" else author,
        "from": sender,
        "name": name,
        "text": fields.text(raw.get("text"), f"{where}.text", max_length=10_000),
    }


def _agent(messages: list[dict], participants: dict) -> AgentRef | None:
    """The agent who spoke last, else the first agent taking part."""
    for message in reversed(messages):
        if message["author"] == "agent" and message["from"]:
            return AgentRef(external_id=message["from"], name=message["name"])
    agents = [p for p in participants.values() if p["role"] == "agent"]
    return AgentRef(external_id=agents[0]["id"], name=agents[0]["name"]) if agents else None


# Typed by the visitor into a pre-chat form: an unreadable one is dropped while another identifier remains.
TYPED_BY_VISITOR = ("email", "phone")


def _identifiers(visitor: dict) -> list:
    found, unreadable = [], []
    for key, kind in VISITOR_IDENTIFIERS.items():
        if visitor.get(key) in (None, ""):
            continue
        try:
            found.append(fields.identifier(kind, visitor[key], f"visitor.{key}"))
        except NormalizationError as exc:
            if key not in TYPED_BY_VISITOR:
                raise
            unreadable.append(str(exc))
    found = fields.unique(found)
    if not found:
        why = f" ({'; '.join(unreadable)})" if unreadable else f" ({', '.join(VISITOR_IDENTIFIERS)})"
        raise NormalizationError(f"visitor: needs at least one identifier{why}")
    return found


def _traits(visitor: dict) -> dict:
    name = fields.text(visitor.get("name"), "visitor.name", max_length=200)
    return {"name": name} if name else {}


def _case(value) -> CaseRef | None:
    if value in (None, {}):
        return None
    if not isinstance(value, dict):
        raise NormalizationError("case: must be an object with external_id")
    status = fields.text(value.get("status"), "case.status", max_length=20) or CaseStatus.OPEN
    if status not in CaseStatus.values:
        raise NormalizationError(f"case.status: {status!r} is not one of {', '.join(CaseStatus.values)}")
    return CaseRef(
        external_id=fields.key(value.get("external_id"), "case.external_id"),
        title=fields.text(value.get("title"), "case.title", max_length=300),
        status=status,
    )
