"""The Celery app: workers normalize raw events and link them to customers.

Run a worker with `celery -A customer_memory worker` and the periodic sweeper with
`celery -A customer_memory beat`. Configuration comes from Django settings (CELERY_*).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "customer_memory.settings")

app = Celery("customer_memory")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
