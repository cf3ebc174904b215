"""How fast each channel normalizer turns a realistic payload into an event, and how long a large raw email
(attachments of tens of MB) takes to normalize. Pure functions: no database, one process.

    DEBUG=1 .venv/bin/python bench/channel_normalizers.py [--seconds 2]
"""

import argparse
import base64
import os
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "customer_memory.settings")
os.environ.setdefault("EMAIL_COMPANY_DOMAINS", "bank.example")

import django  # noqa: E402

django.setup()

from channels_ingest.normalizers import normalize_payload  # noqa: E402
from channels_ingest.normalizers.email import mime_payload  # noqa: E402
from tests.channels import delivery, fixture_bytes, fixture_json  # noqa: E402


def payloads() -> dict[str, tuple[str, object]]:
    batch = fixture_json("segment/batch_analytics_js.json")
    return {
        "segment identify": ("segment", {**batch["batch"][0], "sentAt": batch["sentAt"]}),
        "segment track": ("segment", {**batch["batch"][2], "sentAt": batch["sentAt"]}),
        "twilio callback": ("twilio", dict(parse_qsl(fixture_bytes("twilio/inbound_completed.form").decode().strip()))),
        "connect CTR": ("connect", fixture_json("connect/ctr_answered.json")),
        "chat transcript (4 messages)": ("chat", fixture_json("chat/transcript.json")),
        "email, plain reply": ("email", mime_payload(fixture_bytes("email/customer_reply.eml"))),
        "email, html + 2 attachments": ("email", mime_payload(fixture_bytes("email/with_attachments.eml"))),
    }


def rate(format: str, payload, seconds: float) -> float:
    count, deadline = 0, time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        normalize_payload(format, payload, delivery())
        count += 1
    return count / (time.perf_counter() - started)


def large_email(megabytes: int) -> bytes:
    attachment = base64.encodebytes(os.urandom(megabytes * 1024 * 1024 * 3 // 4)).decode()
    return (
        "From: Ada Byron <ada@example.org>\r\nTo: help@bank.example\r\nSubject: Scans\r\n"
        "Message-ID: <big@example.org>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee the scans.\r\n'
        '--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="scans.pdf"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{attachment}\r\n--b--\r\n"
    ).encode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0, help="time spent on each payload")
    args = parser.parse_args()
    print(f"{'payload':34} {'events/s':>10} {'µs/event':>10}")
    for name, (format, payload) in payloads().items():
        per_second = rate(format, payload, args.seconds)
        print(f"{name:34} {per_second:10.0f} {1e6 / per_second:10.0f}")
    for megabytes in (10, 35):
        raw = large_email(megabytes)
        started = time.perf_counter()
        event = normalize_payload("email", mime_payload(raw), delivery())
        elapsed = time.perf_counter() - started
        size = event.attributes["attachments"][0]["size"] / 1024 / 1024
        print(f"raw email of {len(raw) / 1024 / 1024:.1f} MiB ({size:.1f} MiB attachment): {elapsed:.2f} s")


if __name__ == "__main__":
    main()
