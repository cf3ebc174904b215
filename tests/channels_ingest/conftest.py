"""Fixtures shared by the ingest tests."""

import pytest


@pytest.fixture
def redis_broker(settings):
    """Celery publishing for real to Redis, on a queue of this test's own, with no worker consuming it."""
    import uuid

    from customer_memory.celery import app

    queue = f"cm-sweep-test-{uuid.uuid4().hex[:8]}"
    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url", "task_default_queue")}
    app.conf.update(task_always_eager=False, broker_url=settings.REDIS_URL, task_default_queue=queue)
    app._pool = None
    app.amqp._producer_pool = None
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_TASK_DEFAULT_QUEUE = queue

    def purge():
        with app.connection_for_write() as connection:
            try:
                connection.default_channel.queue_purge(queue)
            except Exception:
                pass

    yield purge
    purge()
    app.conf.update(saved)
    app._pool = None
    app.amqp._producer_pool = None
