"""Card latency on the large data set: in the service (no HTTP), a hand-written SQL floor, and over HTTP.

    .venv/bin/python bench/build_dataset.py          # once: 1M customers, 10M interactions
    .venv/bin/python bench/card_bench.py             # in-service + floor + HTTP (gunicorn + wrk)
    .venv/bin/python bench/card_bench.py --no-http   # in-service + floor only
    .venv/bin/python bench/card_bench.py --no-service --worker-class sync --workers 4   # HTTP only, another server

Lookups are by phone, as an agent desktop does at call start: random known customers, the heaviest
customers (thousands of interactions), and unknown numbers. "Cold" is the first read of a card after the
card cache was emptied; "warm" reads the same cards again. The floor is one indexed SQL query per phone that
fetches the same rows the card shows, rendered to JSON: what no ORM can beat.
"""

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from build_dataset import DEFAULT_URL, UNKNOWN_AREA, phone_of  # noqa: E402

BENCH_URL = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
BENCH_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
# The access log's batches are written by a Celery worker (started with the HTTP server), as in production.
BENCH_BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/6")
os.environ.update(
    DATABASE_URL=BENCH_URL,
    REDIS_URL=BENCH_REDIS,
    CELERY_BROKER_URL=BENCH_BROKER,
    DEBUG="0",
    CELERY_TASK_ALWAYS_EAGER="0",
    SECURE_SSL_REDIRECT="0",
)
os.environ.setdefault("SECRET_KEY", "bench-only-secret")
# Capacity, not the per-client budget, is measured here: one client sends every request.
os.environ.setdefault("API_THROTTLE_RATE", "100000000/min")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "customer_memory.settings")

import django  # noqa: E402

django.setup()

import orjson  # noqa: E402
import psycopg  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402

from customer_memory.card_cache import card_for_identifiers  # noqa: E402


def card_for_lookup(kind: str, value: str) -> dict:
    """What GET /api/v1/card?<kind>=<value> computes, without HTTP."""
    return card_for_identifiers([(kind, value)])


FLOOR_SQL = """
SELECT c.id, c.name, c.preferred_name, c.language, c.customer_since, c.first_seen_at,
  (SELECT coalesce(json_agg(json_build_object('kind', i.kind, 'value', i.value, 'verified', i.verified)), '[]')
     FROM customer_memory_identifier i WHERE i.customer_id = c.id),
  (SELECT coalesce(json_agg(x), '[]') FROM (
     SELECT k.id, k.title, k.status, k.opened_at, k.last_activity_at, k.channel FROM interactions_case k
      WHERE k.customer_id = c.id ORDER BY k.last_activity_at DESC LIMIT 10) x),
  (SELECT coalesce(json_agg(y), '[]') FROM (
     SELECT n.id, n.channel, n.direction, n.occurred_at, n.summary, n.case_id, a.name AS agent
       FROM interactions_interaction n LEFT JOIN interactions_agent a ON a.id = n.agent_id
      WHERE n.customer_id = c.id ORDER BY n.occurred_at DESC LIMIT 5) y)
FROM customer_memory_identifier h JOIN customer_memory_customer c ON c.id = h.customer_id
WHERE h.kind = 'phone' AND h.match_key = %s
"""


def percentiles(samples_ns: list[int]) -> dict:
    ordered = sorted(samples_ns)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6  # noqa: E731
    return {"n": len(ordered), "p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "max": ordered[-1] / 1e6}


def line(label: str, stats: dict) -> str:
    return (
        f"  {label:<28} n={stats['n']:>5}  p50 {stats['p50']:7.3f} ms  p95 {stats['p95']:7.3f} ms  "
        f"p99 {stats['p99']:7.3f} ms  max {stats['max']:7.2f} ms"
    )


def time_cards(phones: list[str], *, cold: bool) -> list[int]:
    samples = []
    for phone in phones:
        if cold:
            cache.clear()
        started = time.perf_counter_ns()
        card = card_for_lookup("phone", phone)
        orjson.dumps(card)  # as the API renders it
        samples.append(time.perf_counter_ns() - started)
    return samples


def time_floor(phones: list[str]) -> list[int]:
    samples = []
    with psycopg.connect(BENCH_URL, autocommit=True) as floor:
        for phone in phones:
            started = time.perf_counter_ns()
            row = floor.execute(FLOOR_SQL, [phone], prepare=True).fetchone()
            orjson.dumps(row, default=str)
            samples.append(time.perf_counter_ns() - started)
    return samples


def dataset_info() -> dict:
    with psycopg.connect(BENCH_URL) as db:
        params, info = db.execute("SELECT params, info FROM bench_dataset").fetchone()
    return {"params": params, **info}


def in_service(info: dict, rng: random.Random, samples: int) -> dict:
    customers = info["params"]["customers"]
    known = [phone_of(rng.randrange(customers)) for _ in range(samples)]
    heaviest = [item["phone"] for item in info["heaviest"]]
    unknown = [phone_of(rng.randrange(1_000_000), UNKNOWN_AREA) for _ in range(samples // 4)]
    # Touch the code paths and the connection once so that the first sample does not pay for imports.
    time_cards(known[:20], cold=True)
    results = {}
    print("card in the service (lookup by phone, JSON-encoded; no HTTP):")
    for label, phones in (("known", known), ("heaviest (1,000-5,000 events)", heaviest * 10), ("unknown", unknown)):
        results[f"{label} cold"] = percentiles(time_cards(phones, cold=True))
        time_cards(phones, cold=False)  # the cold pass emptied the cache before each read: fill it
        results[f"{label} warm"] = percentiles(time_cards(phones, cold=False))
        print(line(f"{label} cold", results[f"{label} cold"]))
        print(line(f"{label} warm", results[f"{label} warm"]))
    results["floor"] = percentiles(time_floor(known))
    print(line("floor: one SQL query + JSON", results["floor"]))
    print(
        f"  ratio card p50 / floor p50: cold {results['known cold']['p50'] / results['floor']['p50']:.2f}, "
        f"warm {results['known warm']['p50'] / results['floor']['p50']:.2f}"
    )
    print(f"  queries for one cold card: {count_queries(known[0])}")
    results["known phones"] = known
    return results


def count_queries(phone: str) -> int:
    from django.test.utils import CaptureQueriesContext

    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        card_for_lookup("phone", phone)
    return len(queries)


def in_process_requests(phones: list[str], rounds: int = 3) -> None:
    """Whole warm requests through the WSGI application (middleware, token check, throttle, card, access log,
    JSON) without a server or a socket: CPU time per request is what one core can serve at most."""
    import io

    from django.core.wsgi import get_wsgi_application

    from api.services import api_client_create

    application = get_wsgi_application()
    _, token = api_client_create(name=f"bench-wsgi-{os.getpid()}", scopes=["card:read"])
    warm_up(phones)

    def request(phone: str) -> None:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/api/v1/card",
            "QUERY_STRING": f"phone=%2B{phone[1:]}",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
        }
        status = []
        response = application(environ, lambda line, headers: status.append(line))
        b"".join(response)
        response.close()  # as a WSGI server does
        assert status[0].startswith("200"), status

    samples = []
    cpu_started = time.process_time()
    for phone in phones * rounds:
        started = time.perf_counter_ns()
        request(phone)
        samples.append(time.perf_counter_ns() - started)
    cpu = (time.process_time() - cpu_started) / len(samples) * 1e3
    print(line("warm request, WSGI in process", percentiles(samples)))
    print(f"  CPU per warm request in process: {cpu:.3f} ms (one core: at most {1000 / cpu:,.0f} requests/s)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def warm_up(phones: list[str]) -> None:
    """Fill the card cache for these phones (each read once, in this process)."""
    for phone in phones:
        card_for_lookup("phone", phone)


def over_http(info: dict, rng: random.Random, args, warm_phones: list[str]) -> None:
    """wrk against gunicorn: first a warm cache (the phones read in the service, all cached), then a cold one
    (the cache emptied, 20,000 random customers: nearly every read is a first read)."""
    duration, workers = args.duration, args.workers
    if not shutil.which("wrk"):
        print("over HTTP: skipped, wrk is not installed (apt-get install wrk)")
        return
    token = (
        subprocess.run(
            [sys.executable, "manage.py", "create_api_client", f"bench-{os.getpid()}", "--scope", "card:read"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    customers = info["params"]["customers"]
    cold_phones = [phone_of(rng.randrange(customers)) for _ in range(20_000)]
    port = free_port()
    environment = dict(os.environ)
    worker = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "customer_memory",
            "worker",
            "--pool",
            "solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=environment,
    )
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "customer_memory.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--config",
            "python:customer_memory.gunicorn_conf",
            "--workers",
            str(workers),
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
        env=environment,
    )
    try:
        wait_for(port)
        with tempfile.TemporaryDirectory() as folder:
            runs = [("warm cache", warm_phones, c) for c in args.connections] + [
                ("cold cache", cold_phones, c) for c in args.connections
            ]
            for label, phones, connections in runs:
                script = Path(folder) / "card.lua"
                script.write_text(
                    "local phones = {" + ",".join(f'"%2B{p[1:]}"' for p in phones) + "}\n"
                    "request = function()\n"
                    "  return wrk.format('GET', '/api/v1/card?phone=' .. phones[math.random(#phones)], "
                    f"{{['Authorization'] = 'Bearer {token}'}})\n"
                    "end\n"
                )
                if label == "cold cache":
                    cache.clear()
                else:
                    warm_up(phones)
                output = subprocess.run(
                    [
                        "wrk",
                        f"-t{args.wrk_threads}",
                        f"-c{connections}",
                        f"-d{duration}s",
                        "--latency",
                        "-s",
                        str(script),
                        f"http://127.0.0.1:{port}",
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                rps = re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)
                transfer = re.search(r"(\d+) requests in [\d.]+\w+, ([\d.]+)(\w+) read", output)
                p50 = re.search(r"50%\s+([\d.]+\w+)", output).group(1)
                p99 = re.search(r"99%\s+([\d.]+\w+)", output).group(1)
                errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
                if os.environ.get("BENCH_VERBOSE"):
                    print(output)
                server_kind = f"gunicorn {workers} {args.worker_class} workers" + (
                    f" x {args.threads} threads" if args.worker_class == "gthread" else ""
                )
                print(
                    f"over HTTP ({label}, {server_kind}, wrk {args.wrk_threads} threads x {connections} connections, "
                    f"{duration} s): "
                    f"{float(rps):,.0f} requests/s, p50 {p50}, p99 {p99}"
                    + (f", NON-2xx: {errors.group(1)}" if errors else "")
                    + (
                        f" ({transfer.group(2)} {transfer.group(3)} read in {int(transfer.group(1)):,} answers)"
                        if transfer
                        else ""
                    )
                )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument(
        "--connections", type=int, nargs="+", default=[16], help="wrk connections; several: one run at each"
    )
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk's threads (they share the 2 cores)")
    parser.add_argument("--no-service", action="store_true", help="skip the in-service part (HTTP only)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--worker-class", default="gthread", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    args = parser.parse_args()
    info = dataset_info()
    print(f"data set: {info['params']}, totals {info['totals']}")
    rng = random.Random(11)
    if args.no_service:
        customers = info["params"]["customers"]
        known = [phone_of(rng.randrange(customers)) for _ in range(args.samples)]
    else:
        known = in_service(info, rng, args.samples)["known phones"]
    in_process_requests(known[:500])
    if not args.no_http:
        over_http(info, rng, args, known)


if __name__ == "__main__":
    main()
