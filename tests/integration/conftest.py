"""Real processes for the integration tests: a Celery worker on the Redis broker and a gunicorn server,
both pointed at the test database, each run on a queue of its own so that runs never share messages."""

import contextlib
import os
import socket
import subprocess
import sys
import threading
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
def live_server_process(env: dict, tmp_path: Path, *, ready_status: int = 401, workers: int = 2):
    """gunicorn with `workers` processes serving the API with `env`; yields its base URL once a token-less
    card request answers `ready_status` (401 when the database is up)."""
    port = _free_port()
    log = tmp_path / f"gunicorn-{port}.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "customer_memory.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
        ],
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


class DatabaseLink:
    """A TCP relay between the service and PostgreSQL that a test can cut: while cut, connections are
    refused and open ones dropped, as when the database host goes away. The real server is never touched."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.port = _free_port()
        self._sockets: list[socket.socket] = []
        self._listener = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        # shutdown() first: a close() alone leaves the socket listening while a thread is blocked in accept().
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        self._sockets.clear()

    def _accept(self, listener) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            server = socket.create_connection(self.target)
            self._sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source, sink) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def database_link(service_env):
    """The service's DATABASE_URL goes through a DatabaseLink to the test database; yields the link."""
    db = connection.settings_dict
    link = DatabaseLink(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    service_env["DATABASE_URL"] = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@127.0.0.1:{link.port}/{db['NAME']}"
    yield link
    if link._listener is not None:
        link.cut()
