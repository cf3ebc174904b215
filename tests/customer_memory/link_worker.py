"""Linking worker processes for the concurrency tests, started with multiprocessing's "spawn": each a fresh
interpreter with its own Django and its own database session, like a Celery worker process.

No Django import at module level: the child imports this module before it has set Django up.
"""

import os


def _retried(step, attempts: int = 6) -> None:
    """Run `step`, retrying a deadlock or a lost race on a unique constraint as the Celery task's autoretry
    does."""
    from django.db import DatabaseError

    for attempt in range(attempts):
        try:
            step()
            return
        except DatabaseError:
            if attempt == attempts - 1:
                raise


def _started(database_url: str, ready, go) -> None:
    """Set Django up on `database_url`, connect, say ready and wait for go."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "customer_memory.settings")
    import django

    django.setup()
    from django.db import connection

    connection.ensure_connection()
    ready.release()
    go.wait(timeout=60)


def link_events(database_url: str, raw_event_ids: list[str], ready, go) -> None:
    """Link the events in order, one at a time (the link step of the worker)."""
    _started(database_url, ready, go)
    from django.db import connection

    from channels_ingest.services import raw_event_link

    for raw_event_id in raw_event_ids:
        _retried(lambda raw_event_id=raw_event_id: raw_event_link(raw_event_id=raw_event_id))
    connection.close()


def process_batches(database_url: str, batches: list[list[str]], ready, go) -> None:
    """Process each batch as the process_raw_events task does (bulk linking, then one at a time)."""
    _started(database_url, ready, go)
    from django.db import connection

    from channels_ingest.services import raw_events_process

    for batch in batches:
        _retried(lambda batch=batch: raw_events_process(raw_event_ids=batch))
    connection.close()
