"""Thin Celery wrappers for the timeline: take ids or nothing, call one service."""

from celery import shared_task
from django.db import DatabaseError

from interactions import services


@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=3)
def mark_overdue_promises_task() -> None:
    services.promises_mark_overdue()
