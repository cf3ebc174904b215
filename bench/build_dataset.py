"""Build the large benchmark data set straight into PostgreSQL with COPY.

    .venv/bin/python bench/build_dataset.py                  # 1M customers, 10M interactions (the issue's size)
    .venv/bin/python bench/build_dataset.py --customers 20000 --interactions 200000   # a quick one

The database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/cm_bench) is migrated with the
project's own migrations, then filled; a marker row records the parameters, so a second run with the same
parameters reuses the data set and returns at once (`--rebuild` forces a new one). Secondary indexes and
constraints are dropped during the load and rebuilt after it: that is what makes 10M rows take minutes.

The shape is what a contact center sees: ~3 identifiers per customer (phone, email, account, some a second
phone), a long tail of activity (most customers a handful of contacts, a few hundred with thousands),
cases on 30 % of customers, agents, promises where the schema has them, traits to confirm. Names and addresses
have the spread of a real customer base (bench/names.py), and every customer has the match profile and
blocking keys that linking would have given them, so that weak-evidence matching in the ingest benchmark
meets a million stored people, common names included, as it would in production.
"""

import argparse
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import django
import names
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from customer_memory.identity.matching import (  # noqa: E402 — the linking code's own profiles and keys
    TERM_FREQUENCY_FIELDS,
    as_profile,
    blocking_keys,
    record_from_event,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cm_bench"
SOURCE = "bench"
CHANNELS = ["chat", "email", "voice", "web"]
CHANNEL_WEIGHTS = [0.25, 0.2, 0.25, 0.3]
# Every known customer's phone is +1 312 NXX XXXX; unknown numbers for the benchmark come from +1 646.
KNOWN_AREA = "312"
UNKNOWN_AREA = "646"
FIRST_NAMES = "Miles Ada Grace Jordan Priya Dave Lena Omar Sofia Noah Maya Ivan Chloe Kenji Amara Luca Zoe Ravi".split()
LAST_NAMES = "Reed Lovelace Hopper Lee Patel Smith Novak Haddad Rossi Okafor Tanaka Silva Brown Kowalski".split()
SUMMARIES = {
    "chat": ["Asked about a failed card payment", "Wanted to change the delivery address", "Question about the bill"],
    "email": ["Sent a copy of the invoice", "Complaint about a late delivery", "Asked to close the account"],
    "voice": ["Called about a refund", "Called to upgrade the plan", "Reported a fault with the router"],
    "web": ["Viewed page /help/payments", "Payment Failed", "Order Completed", "Viewed page /pricing"],
}
CASE_TITLES = ["Card payment failed", "Late delivery", "Router fault", "Refund request", "Address change"]
EPOCH_END = datetime(2026, 11, 20, tzinfo=UTC)
TEN_YEARS = 10 * 365 * 86400


def uuid_text(prefix: str, number: int) -> str:
    """A deterministic UUID per table and row number, so later passes can refer to rows without a lookup."""
    return f"{prefix}0000000-0000-4000-8000-{number:012x}"


def phone_of(index: int, area: str = KNOWN_AREA) -> str:
    exchange, line = divmod(index, 10_000)
    exchange += 200
    # N11 exchanges are service codes, not subscriber numbers: skip them.
    exchange += sum(1 for n11 in range(211, exchange + 1, 100) if n11 <= exchange)
    return f"+1{area}{exchange:03d}{line:04d}"


def interaction_counts(customers: int, interactions: int, rng: random.Random) -> list[int]:
    """A long tail: Pareto-distributed counts, the first 10 customers with 5,000 and the next 100 with 1,000."""
    heavy = {i: 5000 for i in range(min(10, customers))} | {i: 1000 for i in range(10, min(110, customers))}
    heavy_total = sum(heavy.values()) if interactions >= 20 * sum(heavy.values()) else 0
    if not heavy_total:
        heavy = {}
    raw = [rng.paretovariate(1.5) for _ in range(customers)]
    light_total = sum(raw[i] for i in range(customers) if i not in heavy)
    scale = (interactions - heavy_total) / light_total
    # Rounding down and the cap lose some of the total: scale up until the counts add up to the target.
    for _ in range(5):
        counts = [heavy.get(i) or max(1, min(3000, int(value * scale))) for i, value in enumerate(raw)]
        missing = interactions - sum(counts)
        if missing <= interactions // 1000:
            break
        scale *= interactions / (interactions - missing)
    return counts


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


class Columns:
    """A table's columns, filled from the values we generate and type defaults for the ones we don't know.

    The schema grows with the project (new NOT NULL columns); the generator fills those with an empty value
    of their type instead of breaking."""

    def __init__(self, connection, table: str):
        rows = connection.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position",
            [table],
        ).fetchall()
        if not rows:
            raise SystemExit(f"table {table} does not exist: is the database migrated?")
        self.table = table
        self.names = [name for name, _ in rows]
        self.defaults = {name: _empty_of(data_type) for name, data_type in rows}

    def line(self, values: dict) -> str:
        return "\t".join(_copy_text(values[name] if name in values else self.defaults[name]) for name in self.names)

    def copy_sql(self) -> str:
        return f"COPY {self.table} ({', '.join(self.names)}) FROM STDIN"


def _empty_of(data_type: str):
    if data_type in ("integer", "bigint", "smallint", "double precision", "numeric"):
        return 0
    if data_type == "boolean":
        return False
    if data_type == "jsonb":
        return "{}"
    if data_type.startswith("timestamp"):
        return EPOCH_END.isoformat()
    if data_type == "date":
        return "2020-01-01"
    if data_type == "uuid":
        return None
    return ""


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


def build_slice(url: str, start: int, stop: int, counts: list[int], agents: int, seed: int) -> dict:
    """Generate customers [start, stop) and everything they own; COPY it in chunks."""
    rng = random.Random(seed + start)
    # The match profiles and blocking keys are made by the linking code itself.
    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="customer_memory.settings")
    os.environ.setdefault("SECRET_KEY", "bench")
    django.setup()

    with psycopg.connect(url) as connection:
        tables = {
            name: Columns(connection, name)
            for name in (
                "customer_memory_customer",
                "customer_memory_identifier",
                "customer_memory_trait",
                "customer_memory_matchprofile",
                "customer_memory_blockingkey",
                "interactions_case",
                "interactions_interaction",
            )
        }
        has_promises = bool(
            connection.execute(
                "SELECT 1 FROM information_schema.tables WHERE table_name = 'interactions_promise'"
            ).fetchall()
        )
        if has_promises:
            tables["interactions_promise"] = Columns(connection, "interactions_promise")
        totals = dict.fromkeys(tables, 0)
        chunk = 5000
        for chunk_start in range(start, stop, chunk):
            buffers = {name: [] for name in tables}
            for index in range(chunk_start, min(stop, chunk_start + chunk)):
                _customer_rows(index, counts[index], agents, rng, tables, buffers)
            with connection.cursor() as cursor:
                for name, lines in buffers.items():
                    if not lines:
                        continue
                    with cursor.copy(tables[name].copy_sql()) as copy:
                        copy.write("\n".join(lines) + "\n")
                    totals[name] += len(lines)
            connection.commit()
    return totals


def _customer_rows(index, count, agents, rng, tables, buffers):
    customer_id = uuid_text("a", index)
    first, last = names.person(index)
    now = EPOCH_END.timestamp()
    first_seen = now - rng.random() * TEN_YEARS
    since = datetime.fromtimestamp(first_seen, UTC).date().isoformat()
    buffers["customer_memory_customer"].append(
        tables["customer_memory_customer"].line(
            {
                "id": customer_id,
                "name": f"{first} {last}",
                "preferred_name": first,
                "language": "en",
                "customer_since": since if index % 3 else None,
                "first_seen_at": iso(first_seen),
                "last_seen_at": iso(now),
                "merged_into_id": None,
                "created_at": iso(first_seen),
                "updated_at": iso(now),
            }
        )
    )
    mailbox = unicodedata.normalize("NFKD", f"{first}.{last}.{index}").encode("ascii", "ignore").decode().lower()
    identifiers = [("phone", phone_of(index), True), ("email", f"{mailbox}@example.com", True)]
    if index % 4:
        identifiers.append(("account", f"A-{index:07d}", True))
    if index % 5 == 0:
        identifiers.append(("phone", phone_of(index + 4_000_000), False))
    for number, (kind, value, verified) in enumerate(identifiers):
        buffers["customer_memory_identifier"].append(
            tables["customer_memory_identifier"].line(
                {
                    "id": index * 8 + number + 1,
                    "customer_id": customer_id,
                    "kind": kind,
                    "value": value,
                    # US numbers and case-folded emails are their own match keys (customer_memory/identity).
                    "match_key": value,
                    "verified": verified,
                    "source": SOURCE,
                    "first_seen_at": iso(first_seen),
                    "last_seen_at": iso(now),
                }
            )
        )
    home = names.address(index)
    trait_value = json.dumps(home)
    buffers["customer_memory_trait"].append(
        tables["customer_memory_trait"].line(
            {
                "id": index + 1,
                "customer_id": customer_id,
                "name": "address",
                "value": trait_value,
                "source": "crm",
                "observed_at": iso(first_seen),
                "raw_event_id": None,
            }
        )
    )
    # What linking would have recorded of them: their match profile and blocking keys.
    profile = as_profile(
        record_from_event(
            {"first_name": first, "last_name": last, "address": home}, [(k, v) for k, v, _ in identifiers[:2]]
        )
    )
    buffers["customer_memory_matchprofile"].append(
        tables["customer_memory_matchprofile"].line(
            {"customer_id": customer_id, "evidence": json.dumps(profile), "updated_at": iso(now)}
        )
    )
    for number, key in enumerate(sorted(blocking_keys(profile))):
        buffers["customer_memory_blockingkey"].append(
            tables["customer_memory_blockingkey"].line(
                {"id": index * 32 + number + 1, "customer_id": customer_id, "key": key}
            )
        )
    # 30 % of customers have a case (300k at 1M customers); heavy customers have several.
    cases = []
    if index % 10 < 3:
        for number in range(1 if count < 100 else 5):
            case_id = uuid_text("b", index * 8 + number)
            opened = now - rng.random() * 90 * 86400
            status = "open" if number == 0 and index % 2 else "resolved"
            cases.append(case_id)
            buffers["interactions_case"].append(
                tables["interactions_case"].line(
                    {
                        "id": case_id,
                        "customer_id": customer_id,
                        "source": SOURCE,
                        "external_id": f"T-{index}-{number}",
                        "title": CASE_TITLES[(index + number) % len(CASE_TITLES)],
                        "status": status,
                        "channel": CHANNELS[index % 4],
                        "opened_at": iso(opened),
                        "last_activity_at": iso(opened + 3600),
                        "status_at": iso(opened + 3600),
                    }
                )
            )
    interaction_table = tables["interactions_interaction"]
    lines = buffers["interactions_interaction"]
    span = now - first_seen
    for number in range(count):
        channel = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
        # Recent contacts are likelier than old ones: the square pushes most of the mass towards now.
        occurred = now - span * rng.random() ** 2
        agent = uuid_text("d", rng.randrange(agents)) if channel != "web" else None
        lines.append(
            interaction_table.line(
                {
                    "id": uuid_text("c", index * 10_000 + number),
                    "customer_id": customer_id,
                    "source": SOURCE,
                    "external_id": f"e-{index}-{number}",
                    "channel": channel,
                    "type": "page" if channel == "web" else "conversation",
                    "direction": "inbound" if number % 5 else "outbound",
                    "occurred_at": iso(occurred),
                    "summary": rng.choice(SUMMARIES[channel]),
                    "case_id": cases[number % len(cases)] if cases and number % 3 == 0 else None,
                    "agent_id": agent,
                    "attributes": f'{{"csat": {number % 5 + 1}}}' if number % 7 == 0 else "{}",
                    "raw_event_id": None,
                    "created_at": iso(occurred),
                    "updated_at": iso(occurred),
                }
            )
        )
    if "interactions_promise" in tables and cases and index % 3 == 0:
        due = now + (rng.random() - 0.5) * 4 * 86400
        buffers["interactions_promise"].append(
            tables["interactions_promise"].line(
                {
                    "id": uuid_text("e", index),
                    "customer_id": customer_id,
                    "case_id": cases[0],
                    "owner_id": uuid_text("d", index % agents),
                    "owner_agent_id": uuid_text("d", index % agents),
                    "kind": "callback",
                    "channel": "voice",
                    "status": "open",
                    "due_at": iso(due),
                    "created_at": iso(due - 86400),
                    "updated_at": iso(due - 86400),
                }
            )
        )


BENCH_TABLES = [
    "interactions_promise",
    "interactions_interaction",
    "interactions_case",
    "interactions_agent",
    "customer_memory_trait",
    "customer_memory_blockingkey",
    "customer_memory_matchprofile",
    "customer_memory_termcount",
    "customer_memory_identifier",
    "customer_memory_customer",
]


def drop_secondary_structures(connection, tables: list[str]) -> list[str]:
    """Drop foreign keys, unique constraints and indexes (not primary keys) of the tables; return how to
    recreate them, in an order that works (indexes and uniques first, then foreign keys)."""
    recreate_first, recreate_last = [], []
    for table in tables:
        for name, kind, definition in connection.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('f', 'u')",
            [table],
        ).fetchall():
            statement = f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
            (recreate_last if kind == "f" else recreate_first).append(statement)
            connection.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, definition in connection.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            [table, table],
        ).fetchall():
            recreate_first.append(definition)
            connection.execute(f'DROP INDEX "{name}"')
    return recreate_first + recreate_last


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--interactions", type=int, default=10_000_000)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rebuild", action="store_true", help="build even when the same data set is there")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    params = {k: getattr(args, k) for k in ("customers", "interactions", "agents", "seed")}
    params["people"] = 2  # bench/names.py names and addresses, with match profiles and blocking keys

    ensure_database(url)
    migrate(url)
    with psycopg.connect(url, autocommit=True) as connection:
        # A schema change (a new migration) makes the old data set stale.
        params["migrations"] = connection.execute("SELECT count(*) FROM django_migrations").fetchone()[0]
        connection.execute("CREATE TABLE IF NOT EXISTS bench_dataset (params jsonb, built_at timestamptz, info jsonb)")
        row = connection.execute("SELECT params, info FROM bench_dataset").fetchone()
        if row and row[0] == params and not args.rebuild:
            print(f"data set already built with {params}: reusing it (--rebuild to build again)")
            return
        started = time.monotonic()
        tables = [t for t in BENCH_TABLES if _table_exists(connection, t)]
        connection.execute("DELETE FROM bench_dataset")
        connection.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        recreate = drop_secondary_structures(connection, tables)
        agents_columns = Columns(connection, "interactions_agent")
        with connection.cursor() as cursor, cursor.copy(agents_columns.copy_sql()) as copy:
            for number in range(args.agents):
                name = f"{FIRST_NAMES[number % len(FIRST_NAMES)]} {LAST_NAMES[number % len(LAST_NAMES)]}"
                copy.write(
                    agents_columns.line(
                        {
                            "id": uuid_text("d", number),
                            "source": SOURCE,
                            "external_id": f"ag-{number}",
                            "name": name,
                            "created_at": "2016-01-01T00:00:00+00:00",
                            "started_at": "2016-01-01",
                        }
                    )
                    + "\n"
                )

    counts = interaction_counts(args.customers, args.interactions, random.Random(args.seed))
    bounds = [args.customers * i // args.workers for i in range(args.workers + 1)]
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        results = pool.starmap(
            build_slice,
            [(url, bounds[i], bounds[i + 1], counts, args.agents, args.seed) for i in range(args.workers)],
        )
    loaded = time.monotonic()
    totals = {name: sum(r.get(name, 0) for r in results) for name in results[0]}
    print(f"loaded in {loaded - started:.0f} s: {totals}")

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("SET maintenance_work_mem = '1GB'")
        for statement in recreate:
            connection.execute(statement)
        # The term frequencies linking would have counted: one record per customer.
        connection.execute(
            """
            INSERT INTO customer_memory_termcount (field, value, count)
            SELECT field, left(value, 128), count(*)
            FROM customer_memory_matchprofile p, unnest(%s::text[]) AS field,
                 jsonb_array_elements_text(p.evidence -> field) AS value
            GROUP BY 1, 2
            UNION ALL
            SELECT field, '', count(*) FROM customer_memory_matchprofile p, unnest(%s::text[]) AS field
            WHERE p.evidence ? field GROUP BY 1
            """,
            [list(TERM_FREQUENCY_FIELDS), list(TERM_FREQUENCY_FIELDS)],
        )
        for table in tables:
            # Later inserts (the ingest benchmark) must not collide with the ids COPY wrote.
            has_id = connection.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_name = %s AND column_name = 'id'", [table]
            ).fetchone()
            sequence = has_id and connection.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table]).fetchone()[0]
            if sequence:
                connection.execute(f"SELECT setval(%s, (SELECT coalesce(max(id), 1) FROM {table}))", [sequence])
            connection.execute(f"VACUUM ANALYZE {table}")
        heaviest = sorted(range(len(counts)), key=counts.__getitem__, reverse=True)[:20]
        info = {
            "totals": totals,
            "heaviest": [{"index": i, "phone": phone_of(i), "interactions": counts[i]} for i in heaviest],
        }
        connection.execute("INSERT INTO bench_dataset VALUES (%s, now(), %s)", [json.dumps(params), json.dumps(info)])
    print(f"indexed in {time.monotonic() - loaded:.0f} s; total {time.monotonic() - started:.0f} s")


def _table_exists(connection, table: str) -> bool:
    return bool(connection.execute("SELECT to_regclass(%s)", [table]).fetchone()[0])


def ensure_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def migrate(url: str) -> None:
    environment = dict(os.environ, DATABASE_URL=url, SECRET_KEY=os.environ.get("SECRET_KEY", "bench"), DEBUG="0")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=environment, check=True
    )


if __name__ == "__main__":
    main()
