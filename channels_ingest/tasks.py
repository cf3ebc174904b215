"""Thin Celery wrappers: take an id, call one service. The services make reruns harmless."""

from celery import shared_task
from django.db import DatabaseError

from channels_ingest import services


@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def normalize_raw_event_task(raw_event_id: str) -> None:
    services.raw_event_normalize(raw_event_id=raw_event_id)


# Deadlocks and serialization failures between linkers are DatabaseErrors: retried with backoff.
@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def link_raw_event_task(raw_event_id: str) -> None:
    services.raw_event_link(raw_event_id=raw_event_id)


@shared_task(acks_late=True)
def sweep_pending_raw_events_task() -> None:
    services.raw_events_sweep()
