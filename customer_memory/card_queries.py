"""The card facts of a live customer in one hand-written PostgreSQL query (the cold card's database part).

`card.card_facts` reads the same facts with the ORM in eight queries, each a round trip; on PostgreSQL the
cold card instead sends this one statement: the customer row and one `json_agg` subquery per section, each
with the ORM path's filter, ordering and LIMIT, so every section is still bounded by an index whatever the
history size. The result comes back as one JSON text, parsed with orjson, and is shaped here into exactly the
facts the ORM path produces (tests/customer_memory/test_card_queries.py compares the two). SQLite (embedded
mode) keeps the ORM path.
"""

from datetime import date, datetime

import orjson
from django.conf import settings
from django.db import connection

from customer_memory import card
from customer_memory.models import Customer, Identifier, Trait
from interactions.choices import CaseStatus, Direction, PromiseStatus
from interactions.models import Agent, Case, Handover, Interaction, Promise


def _tables() -> dict:
    return {
        "customer": Customer._meta.db_table,
        "identifier": Identifier._meta.db_table,
        "trait": Trait._meta.db_table,
        "case": Case._meta.db_table,
        "interaction": Interaction._meta.db_table,
        "promise": Promise._meta.db_table,
        "handover": Handover._meta.db_table,
        "agent": Agent._meta.db_table,
    }


# Timestamps leave as text and are parsed back into datetimes: the facts keep moments for read-time wording.
# Tie-breakers (id) are the ORM path's too, so both read the same rows in the same order.
_FACTS_SQL = """
SELECT json_build_object(
  'id', c.id, 'name', c.name, 'preferred_name', c.preferred_name, 'language', c.language,
  'customer_since', c.customer_since, 'first_seen_at', c.first_seen_at,
  'identifiers', (
    SELECT coalesce(json_agg(json_build_object(
      'kind', i.kind, 'value', i.value, 'verified', i.verified, 'source', i.source, 'last_seen_at', i.last_seen_at
    ) ORDER BY i.kind, i.value), '[]') FROM "{identifier}" i WHERE i.customer_id = c.id),
  'open_cases', (
    SELECT coalesce(json_agg(k ORDER BY k.last_activity_at DESC, k.id DESC), '[]') FROM (
      SELECT id, title, status, opened_at, last_activity_at, channel FROM "{case}"
      WHERE customer_id = c.id AND status = ANY(%(active)s)
      ORDER BY last_activity_at DESC, id DESC LIMIT 20) k),
  'recent_cases', (
    SELECT coalesce(json_agg(k ORDER BY k.last_activity_at DESC, k.id DESC), '[]') FROM (
      SELECT id, title, status, opened_at, last_activity_at, channel FROM "{case}"
      WHERE customer_id = c.id AND NOT status = ANY(%(active)s)
      ORDER BY last_activity_at DESC, id DESC LIMIT %(recent_cases)s) k),
  'interactions', (
    SELECT coalesce(json_agg(n ORDER BY n.occurred_at DESC, n.id DESC), '[]') FROM (
      SELECT x.id, x.channel, x.direction, x.type, x.occurred_at, x.summary, x.case_id, x.automated,
        x.agent_id, a.name AS agent_name, k.title AS case_title,
        CASE WHEN jsonb_typeof(x.attributes) = 'object' THEN jsonb_build_object(
          'question', x.attributes -> 'question', 'answer', x.attributes -> 'answer',
          'next_step', x.attributes -> 'next_step') END AS outcome
      FROM "{interaction}" x
      LEFT JOIN "{agent}" a ON a.id = x.agent_id
      LEFT JOIN "{case}" k ON k.id = x.case_id
      WHERE x.customer_id = c.id
      ORDER BY x.occurred_at DESC, x.id DESC LIMIT %(interactions)s) n),
  'promises', (
    SELECT coalesce(json_agg(p ORDER BY p.due_at, p.id), '[]') FROM (
      SELECT r.id, r.kind, r.status, r.due_at, r.channel, r.case_id, r.note, r.owner_id, a.name AS owner_name
      FROM "{promise}" r LEFT JOIN "{agent}" a ON a.id = r.owner_id
      WHERE r.customer_id = c.id AND r.status = ANY(%(outstanding)s)
      ORDER BY r.due_at, r.id LIMIT 20) p),
  'handovers', (
    SELECT coalesce(json_agg(h ORDER BY h.created_at DESC, h.id DESC), '[]') FROM (
      SELECT o.id, o.case_id, k.title AS case_title, f.name AS from_agent, t.name AS to_agent,
        o.from_agent_id, o.to_agent_id, o.note, o.created_at
      FROM "{handover}" o
      JOIN "{case}" k ON k.id = o.case_id
      JOIN "{agent}" f ON f.id = o.from_agent_id
      JOIN "{agent}" t ON t.id = o.to_agent_id
      WHERE k.customer_id = c.id AND k.status = ANY(%(active)s)
      ORDER BY o.created_at DESC, o.id DESC LIMIT 10) h),
  'traits', (
    SELECT coalesce(json_agg(d), '[]') FROM (
      SELECT DISTINCT ON (name) name, value, source, observed_at FROM "{trait}"
      WHERE customer_id = c.id AND name = ANY(%(traits)s)
      ORDER BY name, observed_at DESC, id DESC) d),
  'experience', (
    SELECT coalesce(json_agg(e ORDER BY e.occurred_at DESC, e.id DESC), '[]') FROM (
      SELECT id, occurred_at, attributes -> 'csat' AS csat, attributes -> 'sentiment' AS sentiment
      FROM "{interaction}"
      WHERE customer_id = c.id AND attributes ?| array['csat', 'sentiment']
      ORDER BY occurred_at DESC, id DESC LIMIT %(experience)s) e)
)::text
FROM "{customer}" c
WHERE c.id = %(customer_id)s AND c.merged_into_id IS NULL
"""
_sql = None


def live_card_facts(customer_id) -> dict | None:
    """The card facts of the live customer with this id, in one query; None when there is none (merged away
    or gone). The same facts as `card.card_facts(customer)`."""
    global _sql
    if _sql is None:
        _sql = _FACTS_SQL.format(**_tables())
    with connection.cursor() as cursor:
        cursor.execute(
            _sql,
            {
                "customer_id": customer_id,
                "active": list(CaseStatus.active()),
                "outstanding": list(PromiseStatus.outstanding()),
                "traits": list(card.CONFIRM_TRAITS),
                "recent_cases": settings.CARD_RECENT_CASES,
                "interactions": max(card.SIGNAL_INTERACTIONS, settings.CARD_RECENT_INTERACTIONS),
                "experience": card.EXPERIENCE_POINTS,
            },
        )
        row = cursor.fetchone()
    return _facts(orjson.loads(row[0])) if row else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _facts(row: dict) -> dict:
    """The query's JSON shaped by card's item builders, the ORM path's own."""
    identifiers = row["identifiers"]
    for identifier in identifiers:
        identifier["last_seen_at"] = _moment(identifier["last_seen_at"])
    return {
        **card.customer_part(
            id=row["id"],
            name=row["name"],
            preferred_name=row["preferred_name"],
            language=row["language"],
            customer_since=date.fromisoformat(row["customer_since"]) if row["customer_since"] else None,
            first_seen_at=_moment(row["first_seen_at"]),
            identifiers=[{"kind": i["kind"], "value": i["value"], "verified": i["verified"]} for i in identifiers],
        ),
        "open_cases": [_case_item(k) for k in row["open_cases"]],
        "recent_cases": [_case_item(k) for k in row["recent_cases"]],
        "interactions": [
            card.interaction_item(
                **{k: x[k] for k in ("id", "channel", "direction", "type", "summary", "case_id", "agent_id")},
                occurred_at=_moment(x["occurred_at"]),
                agent_name=x["agent_name"],
                contact=x["direction"] != Direction.INTERNAL and not x["automated"],
                case_title=x["case_title"],
                outcome=x["outcome"],
            )
            for x in row["interactions"]
        ],
        "promises": [card.promise_item(**{**p, "due_at": _moment(p["due_at"])}) for p in row["promises"]],
        "handover_notes": [
            card.handover_item(**{**h, "created_at": _moment(h["created_at"])}) for h in row["handovers"]
        ],
        "details": card.details(
            {t["name"]: {**t, "observed_at": _moment(t["observed_at"])} for t in row["traits"]}, identifiers
        ),
        "experience": [
            point
            for point in (
                card.experience_point(_moment(r["occurred_at"]), r["csat"], r["sentiment"]) for r in row["experience"]
            )
            if point is not None
        ],
    }


def _case_item(row: dict) -> dict:
    return card.case_item(
        **{**row, "opened_at": _moment(row["opened_at"]), "last_activity_at": _moment(row["last_activity_at"])}
    )
