"""Helpers for the channel adapter tests: fixtures on disk, deliveries, basic-auth headers."""

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

from channels_ingest.normalizers import Delivery

FIXTURES = Path(__file__).parent / "fixtures"
# When the fixtures' deliveries arrive: after every fixture's own time.
ARRIVAL = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str):
    return json.loads(fixture_bytes(name))


def delivery(source: str = "test-source", received_at: datetime = ARRIVAL) -> Delivery:
    return Delivery(source=source, received_at=received_at)


def basic_auth(token: str) -> str:
    """The header an SDK sends with `token` as its write key (user name, empty password)."""
    return "Basic " + base64.b64encode(f"{token}:".encode()).decode()
