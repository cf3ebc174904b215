from channels_ingest.models import RawEvent
from customer_memory.selectors import parse_uuid


def raw_event_by_id(raw_event_id) -> RawEvent | None:
    """The stored event with this id; None for an unknown or malformed id."""
    pk = parse_uuid(raw_event_id)
    return RawEvent.objects.filter(id=pk).first() if pk else None


def raw_event_by_sender_key(source: str, external_id: str) -> RawEvent | None:
    """The stored event a sender knows as (source, external_id)."""
    return RawEvent.objects.filter(source=source, external_id=external_id).first()
