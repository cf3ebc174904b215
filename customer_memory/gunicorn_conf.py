"""gunicorn settings for the web processes: `gunicorn -c python:customer_memory.gunicorn_conf customer_memory.wsgi`.

Threaded workers (gthread) keep connections alive between requests, which sync workers cannot: an agent desk or
a load balancer sends its card reads over a few kept-alive connections, and a new TCP connection per request
costs more than a warm card. The request path releases the GIL while it waits on Redis and PostgreSQL, so a few
threads per process overlap those waits. Command-line flags override these; each is also read from the
environment.
"""

import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# One process per core; measured on 2 cores (README, "Over HTTP").
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", 4))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 30))
# Restart a worker after this many requests (with jitter, so they do not all restart at once): bounds any leak.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 100_000))
max_requests_jitter = max_requests // 10
# Load the application once in the master and fork workers from it: every worker (and every replacement after
# max_requests) starts with Django set up and every view imported, so its first requests are not the slow ones.
# Nothing connects to PostgreSQL or Redis at import, so no connection is shared across the fork.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"


def when_ready(server):
    """In the master, after the preloaded application: import the URLconf and every view it names."""
    if preload_app:
        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018 — the import of every view is the point
        get_resolver().resolve("/api/v1/card")


def post_worker_init(worker):
    """Once the application is loaded: move every object alive now (Django, DRF, the URL conf, metadata
    tables: ~100,000 of them) out of the garbage collector's view. They live as long as the process, and
    each full collection walked them all — 8 % of a 500-event batch's time in the web process."""
    gc.collect()
    gc.freeze()
