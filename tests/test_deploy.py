"""Production settings: `check --deploy` is clean, and HTML from channels is never rendered as markup."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from customer_memory.models import Customer
from tests.personas import miles_chat

ROOT = Path(__file__).resolve().parents[1]


def _check_deploy(**overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "DEBUG"))}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="memory.example.com",
        CSRF_TRUSTED_ORIGINS="https://memory.example.com",
    )
    env.update(overrides)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result.output = result.stdout + result.stderr  # warnings go to stderr, the summary to stdout
    return result


def test_check_deploy_is_clean_with_a_production_environment():
    result = _check_deploy(SECURE_HSTS_INCLUDE_SUBDOMAINS="1", SECURE_HSTS_PRELOAD="1")
    assert result.returncode == 0, result.output
    assert "System check identified no issues" in result.output


def test_with_debug_off_https_redirect_hsts_and_secure_cookies_are_on_by_default():
    result = _check_deploy()
    # Only the two opt-ins that reach beyond this service remain to decide.
    for check in ("W004", "W008", "W012", "W016", "W009", "W018"):
        assert f"security.{check}" not in result.output
    assert "security.W005" in result.output and "security.W021" in result.output


def test_a_short_secret_key_is_reported():
    result = _check_deploy(SECRET_KEY="short", SECURE_HSTS_INCLUDE_SUBDOMAINS="1", SECURE_HSTS_PRELOAD="1")
    assert result.returncode != 0 and "security.W009" in result.output


@pytest.mark.django_db
def test_html_sent_in_a_chat_is_shown_escaped_in_the_admin(admin_client, ingest):
    ingest(miles_chat(summary='<img src=x onerror="alert(1)"><b>hi</b>'))
    customer = Customer.objects.get()

    page = admin_client.get(reverse("admin:customer_memory_customer_change", args=[customer.pk])).content.decode()

    assert "<img src=x" not in page and "<b>hi</b>" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
