"""A worker process for the bulk-linking concurrency test, started with multiprocessing's "spawn": a fresh
interpreter with its own Django and database session, like a Celery worker process running the
process_raw_events task on its batches.

No Django import at module level: the child imports this module before it has set Django up.
"""

import os


def process_batches(database_url: str, batches: list[list[str]], ready, go) -> None:
    """Set Django up on `database_url`, say ready, wait for go, then process each batch as the Celery task
    does, retrying a deadlock or a lost race (the task's autoretry)."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "customer_memory.settings")
    import django

    django.setup()
    from django.db import DatabaseError, connection

    from channels_ingest.services import raw_events_process

    connection.ensure_connection()
    ready.release()
    go.wait(timeout=60)
    for batch in batches:
        for attempt in range(6):
            try:
                raw_events_process(raw_event_ids=batch)
                break
            except DatabaseError:
                if attempt == 5:
                    raise
    connection.close()
