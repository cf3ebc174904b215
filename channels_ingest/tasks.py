"""Thin Celery wrappers: take ids, call one service. The services make reruns harmless."""

from celery import shared_task
from django.db import DatabaseError

from channels_ingest import services


# One message per batch of accepted events (enqueue_process). Deadlocks and serialization failures between
# linkers, and lost connections, are DatabaseErrors: the batch is retried with backoff, skipping what it did.
@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def process_raw_events_task(raw_event_ids: list[str]) -> None:
    services.raw_events_process(raw_event_ids=raw_event_ids)


# The one-message-per-step tasks of earlier releases: messages already queued when a release with batches
# is deployed still run, through the same service.
@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def normalize_raw_event_task(raw_event_id: str) -> None:
    services.raw_events_process(raw_event_ids=[raw_event_id])


@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def link_raw_event_task(raw_event_id: str) -> None:
    services.raw_events_process(raw_event_ids=[raw_event_id])


@shared_task(acks_late=True)
def sweep_pending_raw_events_task() -> None:
    services.raw_events_sweep()
