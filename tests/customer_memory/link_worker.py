"""A linking worker process for the concurrency tests, started with multiprocessing's "spawn": a fresh
interpreter with its own Django and its own database session, like a Celery worker process.

No Django import at module level: the child imports this module before it has set Django up.
"""

import os


def link_events(database_url: str, raw_event_ids: list[str], ready, go) -> None:
    """Set Django up on `database_url`, say ready, wait for go, then link the events in order, retrying a
    deadlock or a lost race on a unique constraint as the Celery task's autoretry does."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "customer_memory.settings")
    import django

    django.setup()
    from django.db import DatabaseError, connection

    from channels_ingest.services import raw_event_link

    connection.ensure_connection()
    ready.release()
    go.wait(timeout=60)
    for raw_event_id in raw_event_ids:
        for attempt in range(6):
            try:
                raw_event_link(raw_event_id=raw_event_id)
                break
            except DatabaseError:
                if attempt == 5:
                    raise
    connection.close()
