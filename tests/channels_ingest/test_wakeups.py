"""Wake-ups of events accepted a few per request are sent together, soon, and none is forgotten."""

import threading
import time

from channels_ingest.wakeups import WakeupBuffer


class Sent:
    """What the buffer sent, as the broker would receive it: one list of ids per call."""

    def __init__(self):
        self.calls = []
        self.arrived = threading.Event()

    def __call__(self, ids):
        self.calls.append(list(ids))
        self.arrived.set()


def test_wake_ups_of_requests_close_together_go_in_one_message_in_order():
    sent = Sent()
    buffer = WakeupBuffer(sent, delay=lambda: 0.2)

    for number in range(5):
        buffer.add([f"event-{number}"], batch=100)

    assert sent.arrived.wait(5)
    assert sent.calls == [[f"event-{number}" for number in range(5)]]


def test_a_full_batch_is_sent_without_waiting_for_the_delay():
    sent = Sent()
    buffer = WakeupBuffer(sent, delay=lambda: 30)
    started = time.monotonic()

    buffer.add([f"event-{number}" for number in range(3)], batch=3)

    assert sent.arrived.wait(5)
    assert time.monotonic() - started < 5
    assert sent.calls == [["event-0", "event-1", "event-2"]]


def test_flushing_sends_what_is_held_at_once():
    # What happens at a normal exit of the process.
    sent = Sent()
    buffer = WakeupBuffer(sent, delay=lambda: 30)
    buffer.add(["event-1"], batch=100)

    buffer.flush()

    assert sent.calls == [["event-1"]]
    buffer.flush()
    assert sent.calls == [["event-1"]]
