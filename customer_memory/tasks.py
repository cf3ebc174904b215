"""Thin Celery wrappers for identity resolution: take nothing, call one service."""

from celery import shared_task
from django.db import DatabaseError

from customer_memory import services


@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=3)
def settle_review_queue_task() -> None:
    services.review_queue_settle()
