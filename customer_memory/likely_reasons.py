"""Why the customer is probably contacting us, from rules over their recent signals.

The rules are data: add or tune one here without touching the code that applies them. Each rule has
- `signal`: what it looks at — "interaction" (recent contacts and web events), "open_case", or "promise";
- `match`: conditions on that signal, all of which must hold (see `_matches` for the keys);
- `weight`: the confidence (0..1) one matching signal gives; several matches of one rule add up
  (1 - (1 - weight) ** n), so three help-page views count for more than one;
- `wording`: the reason as the agent reads it, formatted with the newest matching signal's fields
  (`{topic}`, `{channel}`, `{ago}`, `{title}`, `{kind}`).
Each reason carries the evidence it rests on, one line per matching signal.
"""

import re

from customer_memory.wording import time_ago, topic

LIKELY_REASON_RULES = [
    {
        "signal": "promise",
        "match": {"overdue": True},
        "weight": 0.9,
        "wording": "Chasing the {kind} we promised and have not made yet",
    },
    {
        # A chat or email that ended with the customer told to phone: the classic channel switch.
        "signal": "interaction",
        "match": {
            "channel": ["chat", "email", "web"],
            "text": r"\b(please call|call (us|back|the)|asked to (call|phone|ring)|told to (call|phone|ring)|phone us)",
            "within_hours": 48,
        },
        "weight": 0.85,
        "wording": "Calling as asked in the {channel} {ago} about {topic}",
    },
    {
        "signal": "open_case",
        "match": {"touched_within_hours": 14 * 24},
        "weight": 0.7,
        "wording": "Following up on the open case “{title}”",
    },
    {
        # A payment event from the website or app (conversations about it are covered by the rules above).
        "signal": "interaction",
        "match": {
            "channel": ["web"],
            "not_type": ["page", "screen"],  # reading about declined payments is the help-page rule's
            "text": r"payment[ _-]?(failed|declined|refused)|(failed|declined) (card )?payment|checkout failed",
            "within_hours": 72,
        },
        "weight": 0.7,
        "wording": "A failed payment {ago}",
    },
    {
        "signal": "interaction",
        "match": {
            "channel": ["web"],
            "type": ["page", "screen"],
            "text": r"help|faq|support|how (do|to)|why",
            "within_hours": 72,
        },
        "weight": 0.5,
        "wording": "Read our help pages: {topic}",
    },
    {
        "signal": "interaction",
        "match": {
            "text": r"\b(order|orders|ordered|deliver\w*|shipment|shipping|parcel|dispatch\w*)\b",
            "within_hours": 7 * 24,
        },
        "weight": 0.55,
        "wording": "A recent order or delivery: {topic}",
    },
]

MAX_REASONS = 3
MAX_EVIDENCE = 3
_KIND_WORDS = {"callback": "callback", "follow_up": "follow-up"}


def likely_reasons(*, interactions: list[dict], open_cases: list[dict], promises: list[dict], now, rules=None) -> list:
    """Ranked reasons, each `{"reason", "confidence", "evidence"}`, strongest first, at most MAX_REASONS.

    The signals are the card's own rows (newest first), with their moments under "_at" / "_due"."""
    signals = {
        "interaction": [_interaction_signal(i, now) for i in interactions],
        "open_case": [_case_signal(c, now) for c in open_cases],
        "promise": [_promise_signal(p, now) for p in promises],
    }
    by_wording = {}
    for rule in rules if rules is not None else LIKELY_REASON_RULES:
        matched = [s for s in signals[rule["signal"]] if _matches(s, rule["match"])]
        if not matched:
            continue
        # Worded only once matched: most signals match no rule, and wording is the costly part.
        fields, _ = matched[0]["describe"](matched[0]["item"], now)
        reason = rule["wording"].format(**fields)
        found = by_wording.setdefault(reason, {"reason": reason, "doubt": 1.0, "evidence": []})
        for signal in matched:
            found["doubt"] *= 1 - rule["weight"]
            if len(found["evidence"]) < MAX_EVIDENCE:  # every match counts; the newest few are shown
                _, evidence = signal["describe"](signal["item"], now)
                if evidence not in found["evidence"]:
                    found["evidence"].append(evidence)
    reasons = [
        {"reason": r["reason"], "confidence": round(1 - r["doubt"], 2), "evidence": r["evidence"]}
        for r in by_wording.values()
    ]
    reasons.sort(key=lambda r: -r["confidence"])
    return reasons[:MAX_REASONS]


def _matches(signal: dict, match: dict) -> bool:
    """All conditions hold. Keys: channel / type (lists of allowed values), not_type, text (regex over summary and
    type, case-insensitive), within_hours / touched_within_hours (age of the signal), overdue (bool)."""
    for key, wanted in match.items():
        if key in ("channel", "type"):
            if signal.get(key) not in wanted:
                return False
        elif key == "not_type":
            if signal.get("type") in wanted:
                return False
        elif key == "text":
            if not re.search(wanted, signal.get("text", ""), re.IGNORECASE):
                return False
        elif key in ("within_hours", "touched_within_hours"):
            if signal["age_hours"] > wanted:
                return False
        elif key == "overdue":
            if signal.get("overdue") is not wanted:
                return False
        else:
            raise ValueError(f"unknown match key {key!r} in a likely-reason rule")
    return True


def _hours(delta) -> float:
    return delta.total_seconds() / 3600


def _interaction_signal(item: dict, now) -> dict:
    return {
        "channel": item["channel"],
        "type": item["type"],
        "text": f"{item['summary']} {item['type']}",
        "age_hours": _hours(now - item["_at"]),
        "item": item,
        "describe": _describe_interaction,
    }


def _describe_interaction(item: dict, now) -> tuple[dict, str]:
    about = topic(item.get("_case_title") or item["summary"] or item["type"] or item["channel"])
    ago = time_ago(item["_at"], now)
    evidence = f"{item['channel']} {item['direction']} {ago}: {item['summary'] or item['type']}".rstrip(": ")
    return {"channel": item["channel"], "ago": ago, "topic": about}, evidence


def _case_signal(item: dict, now) -> dict:
    return {"age_hours": _hours(now - item["_at"]), "item": item, "describe": _describe_case}


def _describe_case(item: dict, now) -> tuple[dict, str]:
    ago = time_ago(item["_at"], now)
    fields = {"title": item["title"] or "untitled", "ago": ago, "channel": item["channel"]}
    return fields, f"case “{item['title']}” is {item['status']}, last activity {ago}"


def _promise_signal(item: dict, now) -> dict:
    return {"overdue": item["_due"] < now, "age_hours": 0.0, "item": item, "describe": _describe_promise}


def _describe_promise(item: dict, now) -> tuple[dict, str]:
    kind = _KIND_WORDS.get(item["kind"], item["kind"])
    owner = f" by {item['owner']['name']}" if item.get("owner") else ""
    when = f"was due {time_ago(item['_due'], now)}" if item["_due"] < now else "is not due yet"
    return {"kind": kind}, f"{kind}{owner} {when}"
