"""Real processes for the integration tests: a Celery worker on the Redis broker and a gunicorn server,
both pointed at the test database, each run on a queue of its own so that runs never share messages."""

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
import requests
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(check, what: str, timeout: float = 60.0, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    detail = log.read_text()[-3000:] if log and log.exists() else ""
    raise AssertionError(f"{what} did not come up within {timeout:.0f}s\n{detail}")


@pytest.fixture
def service_env(transactional_db, tmp_path):
    """Environment shared by the server and the worker: the test database, Redis, a private queue."""
    assert settings.REDIS_URL, "integration tests need REDIS_URL (make test sets it)"
    redis.Redis.from_url(settings.REDIS_URL).ping()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=_database_url(),
        REDIS_URL=settings.REDIS_URL,
        CELERY_BROKER_URL=settings.REDIS_URL,
        CELERY_TASK_ALWAYS_EAGER="0",
        CELERY_TASK_DEFAULT_QUEUE=f"cm-test-{uuid.uuid4().hex[:10]}",
        CONN_MAX_AGE="0",
        DEBUG="0",
        SECRET_KEY="integration-test-secret",
    )
    return env


@pytest.fixture
def celery_worker_process(service_env, tmp_path):
    """A real `celery worker` process (prefork, 2 children) consuming this test's queue."""
    log = tmp_path / "worker.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "customer_memory",
            "worker",
            "--pool=prefork",
            "--concurrency=2",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
            "-Q",
            service_env["CELERY_TASK_DEFAULT_QUEUE"],
        ],
        cwd=ROOT,
        env=service_env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(lambda: "ready." in log.read_text(), "celery worker", log=log)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def live_server_process(env: dict, tmp_path: Path, *, ready_status: int = 401):
    """gunicorn with two workers serving the API with `env`; yields its base URL once a token-less card
    request answers `ready_status` (401 when the database is up)."""
    port = _free_port()
    log = tmp_path / f"gunicorn-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "customer_memory.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(f"{url}/api/v1/card", timeout=5).status_code == ready_status
        except requests.RequestException:
            return False

    try:
        _wait_for(up, "gunicorn", log=log)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def live_service(service_env, tmp_path):
    """The API served by gunicorn in its own process, as in production; yields its base URL."""
    with live_server_process(service_env, tmp_path) as url:
        yield url
