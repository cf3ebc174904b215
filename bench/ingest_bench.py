"""Ingest throughput and lag on the benchmark database, through the real HTTP endpoints and Celery workers.

    .venv/bin/python bench/ingest_bench.py                      # all phases, 10-minute steady run
    .venv/bin/python bench/ingest_bench.py --steady-seconds 60  # a shorter steady run

Phases, each printing its figures:
1. accept, batched: POST /api/v1/events with 500 events per request from 4 client threads (no worker
   running, so only the accept path is measured); the Segment batch endpoint likewise when it exists.
2. accept, one event per request (what webhooks do): wrk with a script that numbers its events.
3. end to end: 2 worker processes (`celery worker -c 2`) drain the backlog of phases 1-2; events normalized
   and linked per second.
4. steady: 500 events/s for --steady-seconds with the workers running; lag from accept to processed (the
   commit after which the card shows the event) p50/p99 from the inbox's own timestamps, and the workers'
   RSS sampled every 10 s (first, last, and the least-squares slope).

The database is BENCH_DATABASE_URL (the data set of build_dataset.py, so linking runs against 1M
customers); the cache is BENCH_REDIS_URL and the broker BENCH_BROKER_URL (apart, so that emptying the cache
never drops queued tasks). Events use fresh source/ids each run.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import names  # noqa: E402
from build_dataset import DEFAULT_URL, phone_of  # noqa: E402

BENCH_URL = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
BENCH_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
# The broker on a Redis database of its own: clearing the cache (card_bench.py does) must not drop queued tasks.
BENCH_BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/10")
RUN = uuid.uuid4().hex[:8]
SOURCE = f"ingest-bench-{RUN}"
# Where this run's new people start among the 4,000,000 the bench draws them from: a run on a reused data set
# must not meet the previous run's new people again, as known customers.
FRESH_OFFSET = int(RUN, 16) % 4_000_000


def service_env() -> dict:
    return dict(
        os.environ,
        DATABASE_URL=BENCH_URL,
        REDIS_URL=BENCH_REDIS,
        CELERY_BROKER_URL=BENCH_BROKER,
        CELERY_TASK_ALWAYS_EAGER="0",
        CELERY_TASK_DEFAULT_QUEUE=f"ingest-bench-{RUN}",
        DEBUG="0",
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only-secret"),
        INGEST_MAX_CLOCK_SKEW="86400",
        SECURE_SSL_REDIRECT="0",  # plain HTTP on loopback
        API_THROTTLE_RATE_INGEST="100000000/min",  # capacity is measured, not one client's budget
    )


def canonical_event(number: int, customers: int, rng: random.Random, prefix: str = "e") -> dict:
    """Half the events are about customers already on record, half about new people."""
    if number % 2 and customers:
        person = rng.randrange(customers)
        phone, (given, surname) = phone_of(person), names.person(person)
    else:
        fresh = (number + FRESH_OFFSET) % 4_000_000
        phone, (given, surname) = phone_of(fresh, "718"), names.person(10_000_000 + fresh)
    channel = ("chat", "email", "voice", "web")[number % 4]
    return {
        "source": SOURCE,
        "external_id": f"{prefix}-{number}",
        "channel": channel,
        "type": "conversation",
        "occurred_at": datetime.now(UTC).isoformat(),
        "customer": {
            "phone": phone,
            "first_name": given,
            "last_name": surname,
        },
        "summary": "Asked about the bill",
        "case": {"external_id": f"{SOURCE}-T-{number}", "title": "Bill question"} if number % 3 == 0 else None,
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def api_token(scopes: list[str]) -> str:
    output = subprocess.run(
        [sys.executable, "manage.py", "create_api_client", f"bench-{RUN}-{scopes[0]}", "--scope", *scopes],
        cwd=ROOT,
        env=service_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return output.strip().splitlines()[-1]


def accept_batched(base: str, token: str, total: int, customers: int, start: int, threads: int = 4) -> float:
    """Events per second accepted through POST /api/v1/events in batches of 500."""
    rng = random.Random(1)
    batches = [
        json.dumps([canonical_event(n, customers, rng) for n in range(first, min(start + total, first + 500))])
        for first in range(start, start + total, 500)
    ]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    pending = list(batches)
    lock = threading.Lock()
    failures = []

    def send():
        session = requests.Session()
        while True:
            with lock:
                if not pending:
                    return
                body = pending.pop()
            answer = session.post(f"{base}/api/v1/events", data=body, headers=headers, timeout=60)
            if answer.status_code != 202:
                failures.append(f"{answer.status_code} {answer.text[:200]}")

    started = time.perf_counter()
    workers = [threading.Thread(target=send) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"batched accept failed: {failures[:3]}")
    return total / elapsed


def accept_segment_batched(base: str, token: str, total: int) -> float | None:
    """Events per second through the Segment batch endpoint (100 track calls per batch), if it exists."""
    url = f"{base}/api/v1/ingest/segment/v1/batch"
    probe = requests.post(url, json={"batch": []}, auth=(token, ""), timeout=10)
    if probe.status_code == 404:
        return None
    now = datetime.now(UTC).isoformat()
    batches = [
        json.dumps(
            {
                "batch": [
                    {
                        "type": "track",
                        "event": "Order Completed",
                        "messageId": f"{RUN}-seg-{n}",
                        "userId": f"bench-user-{n % 50_000}",
                        "timestamp": now,
                        "properties": {"total": 10},
                    }
                    for n in range(first, min(total, first + 100))
                ]
            }
        )
        for first in range(0, total, 100)
    ]
    session = requests.Session()
    started = time.perf_counter()
    for body in batches:
        answer = session.post(url, data=body, auth=(token, ""), headers={"Content-Type": "application/json"})
        if answer.status_code != 200:
            raise SystemExit(f"segment batch failed: {answer.status_code} {answer.text[:200]}")
    return total / (time.perf_counter() - started)


def accept_single(base: str, token: str, seconds: int, connections: int = 16) -> tuple[float, str]:
    """Single-event requests per second with wrk; each request carries a new external id."""
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "single.lua"
        script.write_text(
            "local counter = 0\n"
            "local thread_id = 0\n"
            "setup = function(thread) thread:set('tid', thread_id); thread_id = thread_id + 1 end\n"
            "request = function()\n"
            "  counter = counter + 1\n"
            f'  local body = \'{{"source": "{SOURCE}-single", "external_id": "\' .. tid .. \'-\' .. counter .. '
            '\'", "channel": "voice", "occurred_at": "' + datetime.now(UTC).isoformat() + '", '
            '"customer": {"phone": "+1718555\' .. string.format(\'%04d\', counter % 10000) .. \'"}}\'\n'
            "  return wrk.format('POST', '/api/v1/events', "
            f"{{['Authorization'] = 'Bearer {token}', ['Content-Type'] = 'application/json'}}, body)\n"
            "end\n"
        )
        output = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), base],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    p99 = re.search(r"99%\s+([\d.]+\w+)", output).group(1)
    return rps, f"p99 {p99}" + (f", NON-2xx {errors.group(1)}" if errors else "")


def pending_count(db) -> int:
    """Events of this run still pending: canonical ones under SOURCE, Segment ones under the client's name."""
    return db.execute(
        "SELECT count(*) FROM channels_ingest_rawevent WHERE (source LIKE %s OR source LIKE %s) AND status = 'pending'",
        [f"{SOURCE}%", f"bench-{RUN}%"],
    ).fetchone()[0]


def start_workers(concurrency: int = 2, prefetch: int | None = None) -> subprocess.Popen:
    env = service_env()
    if prefetch is not None:
        env["CELERY_WORKER_PREFETCH_MULTIPLIER"] = str(prefetch)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "customer_memory",
            "worker",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
    )


def rss_of_children(parent: int) -> list[int]:
    """RSS in kB of the worker's child processes (the ones that run tasks)."""
    sizes = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        if re.search(rf"^PPid:\s+{parent}$", status, re.M):
            sizes.append(int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1)))
    return sizes


def steady(base: str, token: str, rate: int, seconds: int, customers: int, worker: subprocess.Popen, db):
    """Send `rate` events/s in 10 batches a second; sample worker RSS; return the lag percentiles."""
    rng = random.Random(2)
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    per_tick = max(1, rate // 10)
    number = 10_000_000
    rss_samples = []
    started = time.monotonic()
    next_tick = started
    next_sample = started
    while time.monotonic() - started < seconds:
        body = json.dumps(
            [canonical_event(n, customers, rng, prefix="steady") for n in range(number, number + per_tick)]
        )
        number += per_tick
        answer = session.post(f"{base}/api/v1/events", data=body, headers=headers, timeout=30)
        if answer.status_code != 202:
            raise SystemExit(f"steady send failed: {answer.status_code} {answer.text[:200]}")
        if time.monotonic() >= next_sample:
            rss_samples.append((time.monotonic() - started, sum(rss_of_children(worker.pid))))
            next_sample += 10
        next_tick += 0.1
        time.sleep(max(0.0, next_tick - time.monotonic()))
    sent_rate = (number - 10_000_000) / (time.monotonic() - started)
    drain_deadline = time.monotonic() + 120
    while pending_count(db) and time.monotonic() < drain_deadline:
        time.sleep(0.5)
    left = pending_count(db)
    if left:
        print(f"steady: {left:,} events still pending 120 s after sending stopped (the workers fell behind)")
    lags = [
        row[0]
        for row in db.execute(
            "SELECT extract(epoch FROM processed_at - received_at) FROM channels_ingest_rawevent "
            "WHERE source = %s AND external_id LIKE 'steady-%%' AND processed_at IS NOT NULL ORDER BY 1",
            [SOURCE],
        ).fetchall()
    ]
    return sent_rate, lags, rss_samples


# The tables each event updates or churns: the inbox (a row inserted, then updated when processed) and linking's.
CHURNED_TABLES = (
    "channels_ingest_rawevent",
    "customer_memory_customer",
    "customer_memory_identifier",
    "customer_memory_matchprofile",
    "customer_memory_termcount",
)


class Vacuumer:
    """What autovacuum does, for a server where it is off (this machine's is): VACUUM (ANALYZE) of the churned
    tables now and, while running, every `every` seconds from a thread of its own. Without it the inbox's dead
    rows pile up — one per processed event — and linking slowed from ~560 to ~260 events/s in one process
    after a 250,000-event run, which says nothing of the service on a server that vacuums."""

    def __init__(self, every: float = 60):
        self.every = every
        self._stop = threading.Event()
        self._thread = None

    def vacuum(self) -> None:
        with psycopg.connect(BENCH_URL, autocommit=True) as db:
            for table in CHURNED_TABLES:
                db.execute(f"VACUUM (ANALYZE) {table}")

    def start(self) -> None:
        def loop():
            while not self._stop.wait(self.every):
                self.vacuum()

        self._thread = threading.Thread(target=loop, name="vacuumer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()


def slope(points: list[tuple[float, int]]) -> float:
    """Least-squares slope in kB per minute."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in points)
    variance = sum((x - mean_x) ** 2 for x, _ in points)
    return covariance / variance * 60 if variance else 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000, help="events for the batched accept phase")
    parser.add_argument("--single-seconds", type=int, default=15)
    parser.add_argument("--steady-rate", type=int, default=500)
    parser.add_argument("--steady-seconds", type=int, default=600)
    # The production settings (customer_memory/gunicorn_conf.py: threaded workers, kept-alive connections).
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class (sync: the earlier runs)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (celery -c), default 2")
    parser.add_argument("--prefetch", type=int, default=None, help="CELERY_WORKER_PREFETCH_MULTIPLIER for the workers")
    parser.add_argument(
        "--skip-channels", action="store_true", help="no Segment and single-event phases (quicker end-to-end runs)"
    )
    parser.add_argument(
        "--accept-only", action="store_true", help="only the accept phases: no workers, no end-to-end or steady run"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")

    with psycopg.connect(BENCH_URL, autocommit=True) as db:
        row = db.execute("SELECT params FROM bench_dataset").fetchone()
        customers = row[0]["customers"] if row else 0
        print(f"database: {BENCH_URL} ({customers:,} customers on record)")
        server_kind = f"gunicorn {args.gunicorn_workers} {args.worker_class} workers" + (
            f" x {args.threads} threads" if args.worker_class == "gthread" else ""
        )
        print(f"web: {server_kind}; load average at start {os.getloadavg()[0]:.1f}")
        vacuumer = None
        if db.execute("SHOW autovacuum").fetchone()[0] == "off":
            started = time.monotonic()
            vacuumer = Vacuumer()
            vacuumer.vacuum()
            vacuumer.start()
            print(
                f"autovacuum is off on this server: the bench vacuums {', '.join(CHURNED_TABLES)} itself, now "
                f"({time.monotonic() - started:.1f} s) and every {vacuumer.every:.0f} s while it runs"
            )
        token = api_token(["ingest"])
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "customer_memory.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--config",
                "python:customer_memory.gunicorn_conf",
                "--workers",
                str(args.gunicorn_workers),
                "--worker-class",
                args.worker_class,
                "--threads",
                str(args.threads),
                "--access-logfile",
                "/dev/null",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=service_env(),
        )
        worker = None
        try:
            wait_for(port)
            # Every web thread's first request opens its connections and loads lazy tables (phone metadata):
            # one batch per thread first, not counted (numbered apart from the measured events).
            accept_batched(base, token, 500 * args.gunicorn_workers * args.threads, customers, start=20_000_000)
            rate = accept_batched(base, token, args.events, customers, start=0)
            print(f"accept, POST /api/v1/events, batches of 500, 4 clients: {rate:,.0f} events/s")
            if not args.skip_channels:
                segment_rate = accept_segment_batched(base, token, 10_000)
                if segment_rate is None:
                    print("accept, Segment batch: endpoint not present")
                else:
                    print(f"accept, Segment batch endpoint, batches of 100: {segment_rate:,.0f} events/s")
                single_rate, detail = accept_single(base, token, args.single_seconds)
                print(f"accept, one event per request (wrk, 16 connections): {single_rate:,.0f} requests/s, {detail}")

            if args.accept_only:
                return
            backlog = pending_count(db)
            worker = start_workers(args.concurrency, args.prefetch)
            started = time.monotonic()
            while pending_count(db):
                time.sleep(0.5)
                if time.monotonic() - started > 3600:
                    raise SystemExit("backlog not drained within an hour")
            elapsed = time.monotonic() - started
            print(
                f"end to end, {args.concurrency} worker processes: {backlog:,} events in {elapsed:.1f} s = "
                f"{backlog / elapsed:,.0f} events/s normalized and linked"
            )

            sent, lags, rss = steady(base, token, args.steady_rate, args.steady_seconds, customers, worker, db)
            if lags:
                pick = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]  # noqa: E731
                print(
                    f"steady {sent:,.0f} events/s for {args.steady_seconds} s: lag accept→processed "
                    f"p50 {pick(0.5) * 1000:.0f} ms, p99 {pick(0.99) * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms "
                    f"({len(lags):,} events)"
                )
            if rss:
                print(
                    f"worker RSS ({args.concurrency} children, kB): first {rss[0][1]:,}, last {rss[-1][1]:,}, "
                    f"slope {slope(rss):+,.0f} kB/min over {len(rss)} samples"
                )
        finally:
            if vacuumer:
                vacuumer.stop()
            for process in (worker, server):
                if process:
                    process.send_signal(signal.SIGTERM)
                    try:
                        process.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        process.kill()


if __name__ == "__main__":
    main()
