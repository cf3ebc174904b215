"""Fault test: nothing lost, nothing doubled, while workers, the broker and the database fail under load.

Starts a private PostgreSQL (initdb into a temporary directory, as user postgres, on a port of its own), a
private Redis, gunicorn and two Celery workers (plus beat for the sweeper) against them. Sends N distinct
events over HTTP in batches, 5 % of them sent a second time in a later batch, retrying on 429/5xx and
connection errors as a real sender does. Meanwhile:
  1. one worker is killed with SIGKILL mid-batch and restarted;
  2. Redis is killed and restarted (with --broker redis it holds the queue, and always the cache);
  3. every database connection is terminated and PostgreSQL is restarted.
Then it waits until no event is pending and checks that exactly the distinct events exist as interactions,
each customer's card counts the right interactions, and prints N, lost, duplicated and recovery seconds.
Exit code 1 on any loss, duplication or wrong card.

    .venv/bin/python bench/fault_test.py --n 300                      # the CI form, under two minutes
    .venv/bin/python bench/fault_test.py --n 100000 --broker rabbitmq # the big one

Never touches the shared servers: its PostgreSQL and Redis are its own; with --broker rabbitmq it uses the
local RabbitMQ in a vhost it creates and deletes (rabbitmqctl), or a queue of its own if it cannot.
"""

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SOURCE = "fault"
CHANNELS = ["chat", "email", "voice", "web"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def wait_until(check, what: str, timeout: float = 60.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(every)
    raise RuntimeError(f"{what} not ready within {timeout:.0f}s")


class PrivatePostgres:
    """A throwaway cluster owned by the postgres user, listening on 127.0.0.1:port only."""

    def __init__(self, root: Path):
        self.dir = root / "pg"
        self.port = free_port()
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/cm"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/cm"

    def _as_postgres(self, *command, check=True):
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *command], check=check, capture_output=True, text=True
        )

    def init(self):
        self.dir.mkdir()
        shutil.chown(self.dir, "postgres", "postgres")
        self._as_postgres("initdb", "-D", str(self.dir), "-U", "postgres", "-A", "trust", "--no-instructions")
        self.start()
        self._as_postgres("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "cm")

    def start(self):
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c max_connections=200"
        self._as_postgres("pg_ctl", "-D", str(self.dir), "-o", options, "-l", str(self.dir / "log"), "-w", "start")

    def restart(self):
        self._as_postgres("pg_ctl", "-D", str(self.dir), "-m", "fast", "-w", "stop")
        self.start()

    def terminate_backends(self) -> int:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            return conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = 'cm' AND pid <> pg_backend_pid()"
            ).fetchone()[0]

    def stop(self):
        self._as_postgres("pg_ctl", "-D", str(self.dir), "-m", "immediate", "-w", "stop", check=False)


class PrivateRedis:
    """Redis with an append-only file, as production runs it, so a restart keeps what was fsynced."""

    def __init__(self, root: Path):
        self.dir = root / "redis"
        self.dir.mkdir()
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir), "--save", "",
             "--appendonly", "yes", "--appendfsync", "everysec"],
            stdout=(self.dir / "log").open("a"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_until(lambda: socket.create_connection(("127.0.0.1", self.port), timeout=1).close() or True, "redis")

    def crash(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


class RabbitVhost:
    """A vhost of the shared RabbitMQ for this run only; falls back to the default vhost (the queue name is
    unique anyway) when rabbitmqctl is not usable."""

    def __init__(self):
        self.name = f"cm-fault-{secrets.token_hex(4)}"
        self.created = False

    def url(self) -> str:
        try:
            subprocess.run(["rabbitmqctl", "add_vhost", self.name], check=True, capture_output=True, timeout=60)
            subprocess.run(
                ["rabbitmqctl", "set_permissions", "-p", self.name, "guest", ".*", ".*", ".*"],
                check=True, capture_output=True, timeout=60,
            )  # fmt: skip
            self.created = True
            return f"amqp://guest:guest@127.0.0.1:5672/{self.name}"
        except (OSError, subprocess.SubprocessError):
            log("rabbitmqctl unavailable: using the default vhost with a private queue")
            return "amqp://guest:guest@127.0.0.1:5672//"

    def delete(self):
        if self.created:
            subprocess.run(["rabbitmqctl", "delete_vhost", self.name], capture_output=True, timeout=60)


class Services:
    """gunicorn, two Celery workers and beat, all pointed at the private servers, under a supervisor that
    restarts any of them that exits on its own, as systemd (Restart=always) or Kubernetes would."""

    def __init__(self, root: Path, env: dict, concurrency: int):
        self.root, self.env, self.concurrency = root, env, concurrency
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen] = {}
        self.commands: dict[str, list[str]] = {}
        self.restarts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def _spawn(self, name: str, command: list[str]):
        self.commands[name] = command
        # A session of its own, so that a SIGKILL reaches the worker's pool children too.
        self.processes[name] = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=(self.root / f"{name}.log").open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def manage(self, *args) -> str:
        result = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start_worker(self, name: str):
        queue = self.env["CELERY_TASK_DEFAULT_QUEUE"]
        self._spawn(
            name,
            [PYTHON, "-m", "celery", "-A", "customer_memory", "worker", "--pool=prefork",
             f"--concurrency={self.concurrency}", "-n", f"{name}-{queue}@%h", "-Q", queue, "--without-gossip",
             "--without-mingle", "--loglevel=WARNING"],
        )  # fmt: skip

    def start(self):
        self._spawn(
            "gunicorn",
            [PYTHON, "-m", "gunicorn", "customer_memory.wsgi", "--bind", f"127.0.0.1:{self.port}", "--workers", "2",
             "--timeout", "60"],
        )  # fmt: skip
        self.start_worker("worker1")
        self.start_worker("worker2")
        self._spawn(
            "beat",
            [PYTHON, "-m", "celery", "-A", "customer_memory", "beat", "--schedule", str(self.root / "beat-schedule"),
             "--loglevel=WARNING"],
        )  # fmt: skip
        wait_until(lambda: requests.get(f"{self.url}/api/v1/card", timeout=2).status_code == 401, "gunicorn")
        threading.Thread(target=self._supervise, daemon=True).start()

    def _supervise(self):
        while not self.stopping.wait(1):
            with self.lock:
                for name, process in list(self.processes.items()):
                    if process.poll() is not None and not self.stopping.is_set():
                        log(f"supervisor: {name} exited with code {process.returncode}; restarting it")
                        self.restarts[name] = self.restarts.get(name, 0) + 1
                        self._spawn(name, self.commands[name])

    def kill_and_restart(self, name: str, pause: float = 2.0):
        """SIGKILL a process group and start it again after `pause` (a crash, then the supervisor)."""
        with self.lock:
            process = self.processes[name]
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            time.sleep(pause)
            self._spawn(name, self.commands[name])

    def stop(self):
        self.stopping.set()
        with self.lock:
            pass  # the supervisor has finished any restart it was making
        for process in self.processes.values():
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def make_events(n: int, customers: int) -> list[dict]:
    start = datetime.now(UTC) - timedelta(days=30)
    return [
        {
            "source": SOURCE,
            "external_id": f"e-{i}",
            "channel": CHANNELS[i % 4],
            "occurred_at": (start + timedelta(seconds=i)).isoformat(),
            "customer": {"email": f"c{i % customers}@fault.example", "name": f"Customer {i % customers}"},
            "summary": f"event {i}",
        }
        for i in range(n)
    ]


def batches_with_resends(events: list[dict], size: int, resend_share: float, rng: random.Random) -> list[list[dict]]:
    """Batches in order, with a share of the events sent again inside a later batch."""
    batches = [events[i : i + size] for i in range(0, len(events), size)]
    for event in rng.sample(events, int(len(events) * resend_share)):
        index = int(event["external_id"][2:]) // size
        later = rng.randrange(index, len(batches))
        batches[later] = [*batches[later], event]
    return batches


class Sender:
    """Posts batches like a well-behaved channel system: on 429, 5xx or a broken connection it waits and
    sends the same batch again, until it gets a 2xx."""

    def __init__(self, url: str, token: str):
        self.url = f"{url}/api/v1/events"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.sent = 0
        self.retries = 0
        self.answers: dict[int, int] = {}

    def send(self, batch: list[dict]):
        delay = 0.1
        deadline = time.monotonic() + 300
        while True:
            try:
                response = self.session.post(self.url, json=batch, timeout=60)
                status = response.status_code
            except requests.RequestException:
                status = 0
            self.answers[status] = self.answers.get(status, 0) + 1
            if 200 <= status < 300:
                self.sent += 1
                return
            if status and status < 500 and status != 429:
                raise RuntimeError(f"the service refused a batch: {status} {response.text[:500]}")
            if time.monotonic() > deadline:
                raise RuntimeError("a batch could not be delivered within 5 minutes")
            self.retries += 1
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def faults(services: Services, pg: PrivatePostgres, redis_server: PrivateRedis, sender: Sender, total: int, done):
    """Run the three faults as the sender passes 25 %, 50 % and 75 % of its batches."""
    timings = {}

    def when(share) -> bool:
        while sender.sent < total * share:
            if done.is_set():
                return False
            time.sleep(0.05)
        return True

    if not when(0.25):
        return timings
    log("fault 1: SIGKILL worker1 mid-batch")
    services.kill_and_restart("worker1")
    timings["worker_killed"] = time.monotonic()

    if not when(0.5):
        return timings
    log("fault 2: Redis killed and restarted")
    redis_server.crash()
    time.sleep(2)
    redis_server.start()
    timings["redis_restarted"] = time.monotonic()

    if not when(0.75):
        return timings
    terminated = pg.terminate_backends()
    log(f"fault 3: {terminated} database connections terminated; PostgreSQL restarting")
    pg.restart()
    timings["postgres_restarted"] = time.monotonic()
    return timings


def pending_count(pg: PrivatePostgres) -> int:
    with psycopg.connect(pg.dsn, autocommit=True, connect_timeout=5) as conn:
        return conn.execute(
            "SELECT count(*) FROM channels_ingest_rawevent WHERE source = %s AND status = 'pending'", [SOURCE]
        ).fetchone()[0]


def verify(pg: PrivatePostgres, events: list[dict], customers: int, services: Services, token: str) -> dict:
    expected = {e["external_id"] for e in events}
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        raw = dict(
            conn.execute(
                "SELECT status, count(*) FROM channels_ingest_rawevent WHERE source = %s GROUP BY status", [SOURCE]
            ).fetchall()
        )
        stored = [
            r[0] for r in conn.execute("SELECT external_id FROM interactions_interaction WHERE source = %s", [SOURCE])
        ]
        per_customer = dict(
            conn.execute(
                "SELECT i.value, count(x.id) FROM customer_memory_identifier i "
                "JOIN interactions_interaction x ON x.customer_id = i.customer_id "
                "WHERE i.kind = 'email' AND x.source = %s GROUP BY i.value",
                [SOURCE],
            ).fetchall()
        )
        live_customers = conn.execute(
            "SELECT count(*) FROM customer_memory_customer WHERE merged_into_id IS NULL"
        ).fetchone()[0]
    want_per_customer = {}
    for event in events:
        email = event["customer"]["email"]
        want_per_customer[email] = want_per_customer.get(email, 0) + 1
    wrong_cards = sum(1 for email, count in want_per_customer.items() if per_customer.get(email) != count)
    # And through the API, as an agent desktop sees it: the latest contact of a sample of customers.
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    for c in random.Random(7).sample(range(customers), min(20, customers)):
        email = f"c{c}@fault.example"
        latest = max((e for e in events if e["customer"]["email"] == email), key=lambda e: e["occurred_at"])
        card = http.get(f"{services.url}/api/v1/card", params={"email": email}, timeout=30).json()
        if not card.get("known") or card["last_contact"]["summary"] != latest["summary"]:
            log(f"wrong card for {email}: expected last contact {latest['summary']!r}, got {json.dumps(card)[:300]}")
            wrong_cards += 1
    return {
        "raw_events": raw,
        "lost": len(expected - set(stored)),
        "duplicated": len(stored) - len(set(stored)) + max(0, sum(raw.values()) - len(expected)),
        "unexpected": len(set(stored) - expected),
        "wrong_cards": wrong_cards,
        "customers": live_customers,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300, help="distinct events to send (default 300)")
    parser.add_argument("--broker", choices=["redis", "rabbitmq"], default="redis")
    parser.add_argument("--batch", type=int, default=100, help="events per request (default 100)")
    parser.add_argument("--resend", type=float, default=0.05, help="share of events sent twice")
    parser.add_argument("--sweep-after", type=int, default=20, help="RAW_EVENT_SWEEP_AFTER for this run (s)")
    parser.add_argument("--sweep-interval", type=int, default=5, help="RAW_EVENT_SWEEP_INTERVAL for this run (s)")
    parser.add_argument("--concurrency", type=int, default=2, help="pool processes per Celery worker (default 2)")
    parser.add_argument("--timeout", type=int, default=1800, help="give up waiting for processing after (s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs) afterwards")
    args = parser.parse_args()
    # Stopped from outside (SIGTERM, or SIGINT even when started in the background): still clean up.
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, lambda signum, frame: sys.exit(f"stopped by signal {signum}"))

    root = Path(tempfile.mkdtemp(prefix="cm-fault-"))
    os.chmod(root, 0o755)  # postgres must reach its data directory inside
    pg, redis_server, vhost, services = PrivatePostgres(root), PrivateRedis(root), RabbitVhost(), None
    customers = max(10, args.n // 10)
    try:
        pg.init()
        redis_server.start()
        broker = redis_server.url if args.broker == "redis" else vhost.url()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "SECURE_", "TEST_"))}
        env.update(
            DATABASE_URL=pg.url,
            REDIS_URL=redis_server.url,
            CELERY_BROKER_URL=broker,
            CELERY_TASK_ALWAYS_EAGER="0",
            CELERY_TASK_DEFAULT_QUEUE=f"cm-fault-{secrets.token_hex(4)}",
            DEBUG="0",
            SECRET_KEY=secrets.token_urlsafe(50),
            SECURE_SSL_REDIRECT="0",
            LOG_LEVEL="WARNING",
            API_THROTTLE_RATE_INGEST="1000000/min",
            RAW_EVENT_SWEEP_AFTER=str(args.sweep_after),
            RAW_EVENT_SWEEP_INTERVAL=str(args.sweep_interval),
            DATABASE_CONNECT_TIMEOUT="3",
        )
        services = Services(root, env, args.concurrency)
        services.manage("migrate", "--noinput")
        token = services.manage("create_api_client", "fault-test", "--scope", "ingest", "card:read").splitlines()[-1]
        services.start()
        log(f"services up in {root} (broker {args.broker}); sending {args.n} events to {customers} customers")

        rng = random.Random(42)
        events = make_events(args.n, customers)
        batches = batches_with_resends(events, args.batch, args.resend, rng)
        sender = Sender(services.url, token)
        done = threading.Event()
        timings = {}
        fault_thread = threading.Thread(
            target=lambda: timings.update(faults(services, pg, redis_server, sender, len(batches), done))
        )
        started = time.monotonic()
        fault_thread.start()
        try:
            for batch in batches:
                sender.send(batch)
        finally:
            done.set()
            fault_thread.join()
        sent_at = time.monotonic()
        log(f"sent {len(batches)} batches in {sent_at - started:.1f}s, {sender.retries} retries, {sender.answers}")

        deadline = time.monotonic() + args.timeout
        while True:
            try:
                pending = pending_count(pg)
            except psycopg.Error:
                pending = -1
            if pending == 0 or time.monotonic() > deadline:
                break
            time.sleep(1)
        processed_at = time.monotonic()
        last_fault = max(timings.values()) if timings else sent_at
        result = verify(pg, events, customers, services, token)
        figures = {
            "broker": args.broker,
            "N": args.n,
            "sent_requests": len(batches),
            "resent_events": sum(len(b) for b in batches) - args.n,
            "lost": result["lost"],
            "duplicated": result["duplicated"],
            "wrong_cards": result["wrong_cards"],
            "still_pending": pending,
            "raw_event_statuses": result["raw_events"],
            "ingest_seconds": round(sent_at - started, 1),
            "recovery_seconds": round(processed_at - last_fault, 1),
            "drain_after_last_batch_seconds": round(processed_at - sent_at, 1),
            "total_seconds": round(processed_at - started, 1),
            "events_per_second": round(args.n / (processed_at - started), 1),
            "unplanned_restarts": services.restarts,
        }
        print(json.dumps(figures, indent=2))
        print(
            f"N={args.n} lost={result['lost']} duplicated={result['duplicated']} "
            f"recovery_seconds={figures['recovery_seconds']} wrong_cards={result['wrong_cards']} "
            f"unplanned_restarts={services.restarts or 0}"
        )
        ok = result["lost"] == 0 and result["duplicated"] == 0 and result["wrong_cards"] == 0 and pending == 0
        print("fault test: " + ("PASSED" if ok else "FAILED"))
        return 0 if ok else 1
    finally:
        if services:
            services.stop()
        redis_server.stop()
        pg.stop()
        vhost.delete()
        if args.keep:
            print(f"logs kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
