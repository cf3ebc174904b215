"""Linking in one process, no broker, no web server: how fast one worker normalizes and links batches.

    BENCH_DATABASE_URL=postgres://…/cm_e2e .venv/bin/python bench/link_profile.py --events 3000
    BENCH_DATABASE_URL=postgres://…/cm_e2e .venv/bin/python bench/link_profile.py --events 3000 --profile

The events are ingest_bench.py's (half known customers by phone and name, half new people, a case on a third),
accepted with the real accept service, then handed to `raw_events_process` 100 at a time (what one Celery
message carries), as a worker would. Prints events per second, the Python CPU per event, the SQL statements
through Django's connection, and how many events went down the one-at-a-time path; `--profile` adds
cProfile's top functions. Run it on a built data set (bench/build_dataset.py): it adds customers to it, as
the ingest benchmark does. Compare two checkouts by running it from each, alternately, on the same data set.
"""

import argparse
import cProfile
import os
import pstats
import random
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ingest_bench  # noqa: E402 — its events and its service environment

os.environ.update(ingest_bench.service_env())

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from channels_ingest import services  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=100, help="events per raw_events_process call")
    parser.add_argument("--customers", type=int, default=1_000_000, help="customers in the data set")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top 40 (slows the run)")
    args = parser.parse_args()

    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        if cursor.fetchone()[0] == "off":
            # As ingest_bench.py: dead rows left by earlier runs would be measured, not linking.
            ingest_bench.Vacuumer().vacuum()
            print("autovacuum is off on this server: vacuumed the churned tables first")
    # Workers are not woken: this process links the events itself.
    services._wake_workers = lambda ids: None
    rng = random.Random(5)
    prefix = f"profile-{uuid.uuid4().hex[:6]}"
    payloads = [ingest_bench.canonical_event(n, args.customers, rng, prefix=prefix) for n in range(args.events)]
    ids = []
    for first in range(0, len(payloads), 500):
        ids += [answer.id for answer in services.canonical_events_accept(payloads=payloads[first : first + 500])]

    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    one_at_a_time = 0
    link_one = services._link

    def counted_link(*a, **k):
        nonlocal one_at_a_time
        one_at_a_time += 1
        return link_one(*a, **k)

    services._link = counted_link
    profiler = cProfile.Profile() if args.profile else None
    started, cpu_started = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(count):
        if profiler:
            profiler.enable()
        for first in range(0, len(ids), args.batch):
            services.raw_events_process(raw_event_ids=ids[first : first + args.batch])
        if profiler:
            profiler.disable()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(
        f"{len(ids):,} events in batches of {args.batch}: {len(ids) / wall:,.0f} events/s in one process, "
        f"Python CPU {cpu / len(ids) * 1e3:.2f} ms/event, {statements / (len(ids) / args.batch):.1f} ORM statements "
        f"per batch (server-bound bulk statements not counted), {one_at_a_time} events linked one at a time"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
