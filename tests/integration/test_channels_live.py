"""Channel endpoints behind gunicorn with a real worker: the URL Twilio signs as the server rebuilds it, and a
raw email larger than the global 5 MB body cap."""

import base64
import hashlib
import hmac
import os
import time
from urllib.parse import parse_qsl

import pytest
import requests

from api.services import api_client_create
from channels_ingest.models import RawEvent
from interactions.models import Interaction
from tests.channels import fixture_bytes

pytestmark = pytest.mark.integration


def _wait_until_processed(count, timeout=60.0):
    deadline = time.monotonic() + timeout
    while RawEvent.objects.filter(status="pending").exists() or RawEvent.objects.count() < count:
        assert time.monotonic() < deadline, list(RawEvent.objects.values_list("status", "error"))
        time.sleep(0.25)


def test_signed_twilio_callbacks_and_a_large_raw_email_through_gunicorn(live_service, celery_worker_process):
    _, token = api_client_create(name="pbx", scopes=["ingest"], twilio_auth_token="twilio-auth-token-0123456789")
    url = f"{live_service}/api/v1/ingest/voice/twilio"
    for name in ("inbound_completed", "inbound_ringing"):  # the final callback first, as retries can make it
        params = dict(parse_qsl(fixture_bytes(f"twilio/{name}.form").decode().strip()))
        signed = url + "".join(key + params[key] for key in sorted(params))
        signature = base64.b64encode(hmac.new(b"twilio-auth-token-0123456789", signed.encode(), hashlib.sha1).digest())
        response = requests.post(url, data=params, auth=(token, ""), headers={"X-Twilio-Signature": signature})
        assert response.status_code == 202, response.text
    forged = requests.post(url, data=params, auth=(token, ""), headers={"X-Twilio-Signature": "Zm9yZ2Vk"})
    assert forged.status_code == 403

    attachment = base64.encodebytes(os.urandom(5 * 1024 * 1024)).decode()  # about 6.8 MB once encoded
    raw = (
        "From: Ada Byron <ada@example.org>\r\nTo: help@bank.example\r\nSubject: Scans\r\n"
        "Message-ID: <scans-1@example.org>\r\nDate: Fri, 20 Nov 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe scans.\r\n'
        '--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="scans.pdf"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{attachment}\r\n--b--\r\n"
    ).encode()
    response = requests.post(
        f"{live_service}/api/v1/ingest/email", data=raw, auth=(token, ""), headers={"Content-Type": "message/rfc822"}
    )
    assert response.status_code == 202, response.text
    too_big_for_json = requests.post(
        f"{live_service}/api/v1/events",
        data=b"[" + b" " * (6 * 1024 * 1024) + b"]",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert too_big_for_json.status_code == 413  # the JSON routes keep the global cap

    _wait_until_processed(3)
    call = Interaction.objects.get(channel="voice")
    assert call.attributes["call_status"] == "completed" and call.summary == "Inbound call, 4 min 12 s"
    mail = Interaction.objects.get(channel="email")
    assert mail.attributes["attachments"] == [{"name": "scans.pdf", "type": "application/pdf", "size": 5 * 1024 * 1024}]
