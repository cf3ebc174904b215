from celery import shared_task

from api import access_log


@shared_task(acks_late=True, ignore_result=True)
def flush_access_log_task() -> None:
    """Sent by the card read that fills a batch, and by beat every ACCESS_LOG_FLUSH_SECONDS (so that reads
    buffered in Redis reach the access-log table even when too few arrive to fill a batch). A bounded run, so
    one task never holds a worker for long; several at once are safe (access_log.flush)."""
    access_log.flush(limit=10_000)
