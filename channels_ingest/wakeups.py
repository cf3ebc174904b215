"""Wake-ups of the workers for events accepted a few at a time, sent together.

A webhook request accepts one event. One Celery message for it costs the web process a broker round trip and
kombu's work in the request (as much as the INSERT), costs a worker about as much as linking the event, and
leaves bulk linking, which needs two events or more in a message, unused. So the ids of events accepted in
requests of fewer than INGEST_TASK_BATCH events are collected in the process and published by a background
thread INGEST_WAKEUP_DELAY_MS after the first of them (or as soon as a batch is full), in messages of up to
INGEST_TASK_BATCH ids. Larger requests, and eager mode (tests, the embedded demo), publish at once.

What a crash can lose: each event's inbox row is committed before its answer, so a process killed within the
delay loses only wake-ups; the sweeper sends them again after RAW_EVENT_SWEEP_AFTER. A process that exits
normally (gunicorn's max_requests, a deploy) sends what it holds first.
"""

import logging
import os
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)


class WakeupBuffer:
    """Ids waiting to be sent with `send(ids)` (which splits them into messages). Thread-safe; the sending
    thread starts on first use in each process, since gunicorn forks its workers after importing this."""

    def __init__(self, send: Callable[[list], None], *, delay: Callable[[], float]):
        self._send = send
        self._delay = delay
        self._lock = threading.Lock()
        self._ids: list = []
        self._pending = threading.Event()
        self._full = threading.Event()
        self._pid = None

    def add(self, ids, *, batch: int) -> None:
        with self._lock:
            if self._pid != os.getpid():
                # A forked child holds a copy of its parent's list: those are the parent's to send.
                self._pid, self._ids = os.getpid(), []
                threading.Thread(target=self._run, name="ingest-wakeups", daemon=True).start()
            self._ids.extend(ids)
            full = len(self._ids) >= batch
        self._pending.set()
        if full:
            self._full.set()

    def flush(self) -> None:
        """Send what is held now, in this thread."""
        with self._lock:
            ids, self._ids = self._ids, []
        if ids:
            self._send(ids)

    def _run(self) -> None:
        while True:
            self._pending.wait()
            # Give the requests of the next moments a chance to join, unless a batch is full already.
            self._full.wait(self._delay())
            self._pending.clear()
            self._full.clear()
            try:
                self.flush()
            except Exception:  # enqueue_process logs its own failures; this thread must survive anything
                logger.exception("sending ingest wake-ups failed; the sweeper will send them")
