"""Events put straight into the inbox for tests that run the worker's steps themselves."""

from channels_ingest.choices import RawEventFormat
from channels_ingest.models import RawEvent
from channels_ingest.normalizers import normalize_payload


def stored_normalized(payloads) -> list[str]:
    """Store canonical events normalized and pending, as accepting and normalizing leave them for linking;
    returns their ids in order.

    Written directly: the accept and normalize services wake the next task on commit, and the test settings
    run tasks eagerly, so going through them would link every event in the test's own process first.
    """
    rows = RawEvent.objects.bulk_create(
        RawEvent(
            source=p["source"],
            external_id=p["external_id"],
            format=RawEventFormat.CANONICAL,
            payload=p,
            normalized=normalize_payload(RawEventFormat.CANONICAL, p).to_json(),
        )
        for p in payloads
    )
    return [str(row.id) for row in rows]
