"""Probabilistic matching on weak evidence, Fellegi–Sunter style.

A *record* is what one event says of its person in folded forms ({"given": "robert", "dob": "1971-06-24", …});
a *profile* is what we know of a customer, a short list of values per field. Each field of a record is
compared with the profile's values and given a level (exact, close, …, different, or missing); each level
carries an m probability (of seeing it for one person) and a u probability (for two different people), read
from the parameters file (settings.IDENTITY_MATCH_PARAMETERS, estimated by `estimate_parameters`). The match
weight is the sum of log2(m/u) over fields plus the prior's log-odds; its probability decides: auto-merge,
review, or nothing.

Blocking keys ("surname+dob", …) name the few customers worth comparing; they are stored in an indexed table.
"""

import json
import math
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rapidfuzz import fuzz
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from customer_memory.choices import IdentifierKind
from customer_memory.identity.normalize import (
    city_key,
    dob_key,
    given_name_key,
    postcode_key,
    split_full_name,
    street_key,
    surname_key,
)

# Each field and the names of its levels, from "different" (0) to "exact" (last).
LEVELS = {
    "given": ("different", "similar", "close", "exact"),
    "surname": ("different", "similar", "close", "exact"),
    "dob": ("different", "within ten years", "two typos or within a year", "one typo", "exact"),
    "postcode": ("different", "one typo", "exact"),
    "city": ("different", "close", "exact"),
    "street": ("different", "close", "exact"),
    "phone": ("different", "same last 7 digits", "exact"),
    "email": ("different", "close", "exact"),
}
FIELDS = tuple(LEVELS)
# The lowest level at which a field counts as agreeing for the auto-merge requirements (default 1).
AGREEING_FROM = {"dob": 3}
# Values kept per field in a profile: enough for a person's variants, bounded so comparisons stay cheap.
PROFILE_VALUES = 6


def record_from_event(traits: dict, identifiers) -> dict[str, str]:
    """The weak evidence one event carries, folded; fields it does not carry are absent.

    `identifiers` are (kind, match_key) pairs: a phone or an email also counts as evidence for the score."""
    given = given_name_key(traits.get("first_name") or "")
    surname = surname_key(traits.get("last_name") or "")
    if traits.get("name") and not (given and surname):
        full_given, full_surname = split_full_name(traits["name"])
        given = given or given_name_key(full_given)
        surname = surname or surname_key(full_surname)
    address = traits.get("address") or {}
    record = {
        "given": given,
        "surname": surname,
        "dob": dob_key(traits.get("date_of_birth")),
        "postcode": postcode_key(address.get("postcode")),
        "city": city_key(address.get("city")),
        "street": street_key(address.get("line1")),
    }
    for kind, match_key in identifiers:
        if kind in (IdentifierKind.PHONE, IdentifierKind.EMAIL) and not record.get(kind):
            record[kind] = match_key
    return {name: value for name, value in record.items() if value}


def has_weak_evidence(record: dict) -> bool:
    """Whether a record says enough about a person to be matched on: a name and one more fact, or a date of
    birth and a street line (a form that left the name out; the requirements can merge on those alone)."""
    if record.get("dob") and record.get("street"):
        return True
    return bool(record.get("given") or record.get("surname")) and len(record) >= 2


def profile_add(profile: dict[str, list], record: dict[str, str]) -> dict[str, list]:
    """The profile with the record's values added (newest first, PROFILE_VALUES per field at most)."""
    merged = {name: list(values) for name, values in profile.items()}
    for name, value in record.items():
        values = [value] + [v for v in merged.get(name, []) if v != value]
        merged[name] = values[:PROFILE_VALUES]
    return merged


def profile_holds(profile: dict[str, list], record: dict[str, str]) -> bool:
    """Whether every value of the record is already in the profile: the event tells nothing new."""
    return all(value in profile.get(name, ()) for name, value in record.items())


def profile_union(first: dict, second: dict) -> dict:
    merged = dict(first)
    for name, values in second.items():
        combined = list(dict.fromkeys(list(first.get(name, [])) + list(values)))
        merged[name] = combined[:PROFILE_VALUES]
    return merged


# Pairs of fields (or prefixes of them) a customer is filed under. Several, so that typos in one or two
# fields still leave a shared key; none as broad as a surname or a town alone.
BLOCKING_PAIRS = (
    ("given", "surname"),
    ("given", "dob"),
    ("surname", "dob"),
    ("surname", "postcode"),
    ("dob", "postcode"),
    ("given", "postcode"),
    ("dob", "city"),
    ("surname", "city"),
    ("given", "city"),
)


def blocking_keys(profile: dict[str, list]) -> set[str]:
    """Keys under which a customer with this profile (or a record, as one-value lists) is found: pairs of
    fields, the same pairs on three-letter prefixes of the names (typos at the end of a name), the date of
    birth alone (a few people per date even among millions, and capped per key), phone and email."""
    keys = set()
    if profile.get("given") and not profile.get("surname"):
        # A lone name may be the surname (see compare): filed under the surname's keys as well.
        profile = {**profile, "surname": profile["given"]}
    for first, second in BLOCKING_PAIRS:
        for a in profile.get(first, [])[:3]:
            for b in profile.get(second, [])[:3]:
                keys.add(f"{first[:2]}{second[:2]}:{a}|{b}"[:128])
    for given in profile.get("given", [])[:3]:
        for surname in profile.get("surname", [])[:3]:
            keys.add(f"gs3:{given[:3]}|{surname[:3]}")
            # The two names in either order: a record with given name and surname swapped meets its owner.
            keys.add("names:" + "|".join(sorted((given, surname)))[:122])
        for dob in profile.get("dob", [])[:3]:
            keys.add(f"gd3:{given[:3]}|{dob[:4]}")
    for surname in profile.get("surname", [])[:3]:
        for dob in profile.get("dob", [])[:3]:
            keys.add(f"sd3:{surname[:3]}|{dob[:4]}")
    for dob in profile.get("dob", [])[:3]:
        keys.add(f"dob:{dob}")
    for name in ("phone", "email"):
        for value in profile.get(name, [])[:3]:
            keys.add(f"{name}:{value}"[:128])
    for value in profile.get("email", [])[:3]:
        keys.add(f"local:{value.split('@')[0]}"[:128])
    return keys


def as_profile(record: dict[str, str]) -> dict[str, list]:
    return {name: [value] for name, value in record.items()}


# --- comparison


def _name_level(a: str, b: str) -> int:
    if a == b:
        return 3
    similarity = JaroWinkler.similarity(a, b)
    if similarity >= 0.92:
        return 2
    if similarity >= 0.8 or (len(a) == 1 or len(b) == 1) and a[0] == b[0]:
        return 1
    return 0


def _dob_level(a: str, b: str) -> int:
    if a == b:
        return 4
    ya, ma, da = a.split("-")
    yb, mb, db = b.split("-")
    if DamerauLevenshtein.distance(a, b) <= 1 or (ya == yb and ma == db and da == mb):
        return 3
    days = abs((date.fromisoformat(a) - date.fromisoformat(b)).days)
    if DamerauLevenshtein.distance(a, b) <= 2 or days <= 366:
        return 2
    # Evidence for the score only (never agreeing, see AGREEING_FROM): a date mistyped in several digits
    # usually stays within ten years, while a parent and a child who share a name do not.
    if days <= 3653:
        return 1
    return 0


def _postcode_level(a: str, b: str) -> int:
    if a == b:
        return 2
    return 1 if DamerauLevenshtein.distance(a, b) <= 1 else 0


def _city_level(a: str, b: str) -> int:
    if a == b:
        return 2
    return 1 if JaroWinkler.similarity(a, b) >= 0.88 else 0


def _street_level(a: str, b: str) -> int:
    if a == b:
        return 2
    return 1 if fuzz.token_set_ratio(a, b) >= 80 else 0


def _phone_level(a: str, b: str) -> int:
    if a == b:
        return 2
    return 1 if a[-7:] == b[-7:] else 0


def _email_level(a: str, b: str) -> int:
    if a == b:
        return 2
    if a.split("@")[0] == b.split("@")[0] or JaroWinkler.similarity(a, b) >= 0.92:
        return 1
    return 0


_COMPARE = {
    "given": _name_level,
    "surname": _name_level,
    "dob": _dob_level,
    "postcode": _postcode_level,
    "city": _city_level,
    "street": _street_level,
    "phone": _phone_level,
    "email": _email_level,
}


def compare(record: dict[str, str], profile: dict[str, list]) -> dict[str, int]:
    """The level of each field both sides carry: the best agreement with any of the profile's values.

    Given name and surname written the wrong way round count as close, not as two disagreements.
    """
    levels = {}
    for name, value in record.items():
        others = profile.get(name)
        if others:
            levels[name] = max(_COMPARE[name](value, other) for other in others)
    # A name written in the other name's place (given and surname swapped, whole or in part, as forms and
    # transcriptions do) counts as close, credited to the field it matched on our side, whose role we know:
    # "Schuman Alexandra" agrees with "Harrison Schuamnn" on the surname, not on the given name.
    given, surname = record.get("given"), record.get("surname")
    direct = dict(levels)
    if given and surname and direct.get("surname", 0) < 2 and direct.get("given", 0) < 2:
        if max((_name_level(given, other) for other in profile.get("surname", [])), default=0) >= 2:
            levels["surname"] = 2
    if given and surname and direct.get("given", 0) < 2 and direct.get("surname", 0) < 2:
        if max((_name_level(surname, other) for other in profile.get("given", [])), default=0) >= 2:
            levels["given"] = 2
    # One name alone ("Watts") is a given name or a surname: a record's lone name that is the profile's
    # surname, or a record's surname that is a lone-named profile's only name, agrees on the surname and says
    # nothing of the given name.
    if given and not surname and direct.get("given", 0) < 2:
        alone = max((_name_level(given, other) for other in profile.get("surname", [])), default=0)
        if alone >= 2:
            levels["surname"] = alone
            levels.pop("given", None)
    elif surname and not profile.get("surname") and direct.get("given", 0) < 2:
        alone = max((_name_level(surname, other) for other in profile.get("given", [])), default=0)
        if alone >= 2:
            levels["surname"] = alone
            levels.pop("given", None)
    return levels


def compare_known(record: dict[str, str], known: dict[str, list], profile: dict[str, list]) -> dict[str, int]:
    """compare() of the record with the profile, where what is known of the record's customer (`known`, its
    profile) also counts: each field at the best agreement of the record's value or any known value with
    the profile's values. The profile of a customer holds one person's variants, so agreeing with any of
    them is evidence about that person (a later visit gives the date of birth an earlier one left out)."""
    levels = compare(record, profile)
    for name, values in known.items():
        others = profile.get(name)
        # An exact agreement cannot get better: skip the known values' comparisons (up to 36 per field).
        if others and name in _COMPARE and levels.get(name) != len(LEVELS[name]) - 1:
            best = max(_COMPARE[name](value, other) for value in values for other in others)
            levels[name] = max(levels.get(name, 0), best)
    return levels


# --- scoring


@dataclass(frozen=True)
class Score:
    probability: float
    weight: float
    levels: dict[str, int]

    def explain(self) -> dict:
        """The levels by name, for the merge record and the review queue."""
        return {name: LEVELS[name][level] for name, level in sorted(self.levels.items())}


@cache
def _parameters_from(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        loaded = json.load(handle)
    # A file estimated for other levels (an older release's) would misweigh every comparison: refuse it.
    for name, levels in LEVELS.items():
        field = loaded.get("fields", {}).get(name)
        if field and (field.get("levels") != list(levels) or not len(field["m"]) == len(field["u"]) == len(levels)):
            raise ImproperlyConfigured(
                f"IDENTITY_MATCH_PARAMETERS {path}: field {name!r} has levels {field.get('levels')}, this release "
                f"compares {list(levels)}; estimate it again (bench/identity_bench.py --calibrate)"
            )
    return loaded


def parameters() -> dict:
    """The m/u parameters in force (cached per file path)."""
    return _parameters_from(settings.IDENTITY_MATCH_PARAMETERS)


def score(
    levels: dict[str, int], params: dict | None = None, frequencies: dict | None = None, stored: int = 0
) -> Score:
    """The match weight and probability of these levels. `frequencies` (field → share of stored records
    carrying the event's value, see term_frequency) replaces the u of an exact agreement by that value's
    own: agreeing on a rare surname says more than agreeing on "smith". `stored` (how many customers are on
    record) scales the prior, see prior_at."""
    params = params or parameters()
    prior = prior_at(params, stored)
    weight = math.log2(prior / (1 - prior))
    frequencies = frequencies or {}
    for name, level in levels.items():
        field = params["fields"].get(name)
        if field:
            u = field["u"][level]
            if name in frequencies and level == len(LEVELS[name]) - 1:
                u = frequencies[name]
            weight += math.log2(field["m"][level] / u)
    # Bounded so 2**weight cannot overflow on absurd inputs.
    weight = max(-60.0, min(60.0, weight))
    return Score(probability=1 / (1 + 2**-weight), weight=weight, levels=levels)


def prior_at(params: dict, stored: int) -> float:
    """The prior that one stored customer is the event's person, among `stored` customers.

    The estimated prior is that of two records among the `prior_records` it was estimated from; a person has
    the same one or two true matches however many others are stored, so among more customers each candidate
    is proportionally less likely to be them (among a million, sharing a full name and nothing else is the
    coincidence it is). Never raised above the estimate for smaller stores."""
    prior, among = params["prior"], params.get("prior_records") or 0
    if not among or stored <= among:
        return prior
    return prior * among / stored


# Fields whose exact agreements are weighed by the frequency of the value (names and places, as Splink does).
TERM_FREQUENCY_FIELDS = ("given", "surname", "city", "postcode")
# How many records' worth of weight the average u carries against the observed counts: while few records are
# stored (or a value is rare) the share leans on the average instead of trusting a count of 1 in 3.
TERM_FREQUENCY_PRIOR_RECORDS = 1000


def term_frequency(count: int, total: int, average_u: float) -> float:
    """The share of records carrying a value seen `count` times among `total`, smoothed towards the field's
    average u (a Bayesian estimate with TERM_FREQUENCY_PRIOR_RECORDS pseudo-records)."""
    return (count + TERM_FREQUENCY_PRIOR_RECORDS * average_u) / (total + TERM_FREQUENCY_PRIOR_RECORDS)


def meets_auto_merge_requirements(levels: dict[str, int], requirements=None) -> bool:
    """Whether one alternative of settings.IDENTITY_AUTO_MERGE_REQUIRES holds: each of its groups has a field
    that agrees. A plain field name agrees from its AGREEING_FROM level (any level above "different"; for a
    date of birth, one typo at most); "field>=N" asks for level N at least (an index into LEVELS[field], so
    "dob>=4" is an exact date, "street>=2" an exact street line)."""

    def agrees(item):
        name, _, least = item.partition(">=")
        return levels.get(name, 0) >= (int(least) if least else AGREEING_FROM.get(name, 1))

    if requirements is None:
        requirements = settings.IDENTITY_AUTO_MERGE_REQUIRES
    return any(all(any(agrees(item) for item in group) for group in alternative) for alternative in requirements)


# --- calibration


def estimate_parameters(
    records: list[dict],
    *,
    random_pairs: int = 200_000,
    max_block: int = 40,
    max_pairs: int = 300_000,
    iterations: int = 25,
    seed: int = 7,
) -> dict:
    """Estimate m, u and the prior from unlabelled records, as Splink does: u from random pairs (almost all
    of them different people), then m and the prior by expectation–maximisation over the blocked pairs
    (those a link would actually score). No ground truth is read."""
    rng = random.Random(seed)
    smoothing = 1.0
    profiles = [as_profile(r) for r in records]

    u_counts = {name: [smoothing] * len(levels) for name, levels in LEVELS.items()}
    for _ in range(random_pairs):
        i, j = rng.randrange(len(records)), rng.randrange(len(records))
        if i != j:
            for name, level in compare(records[i], profiles[j]).items():
                u_counts[name][level] += 1
    u = {name: [c / sum(counts) for c in counts] for name, counts in u_counts.items()}

    blocks = defaultdict(list)
    for index, profile in enumerate(profiles):
        for key in blocking_keys(profile):
            blocks[key].append(index)
    pairs = set()
    for members in blocks.values():
        members = members[:max_block]
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                pairs.add((members[x], members[y]))
    blocked_pairs = len(pairs)
    if blocked_pairs > max_pairs:
        pairs = rng.sample(sorted(pairs), max_pairs)
    # EM runs over the distinct comparison patterns with their counts: a few thousand, however many pairs.
    patterns = defaultdict(int)
    for i, j in pairs:
        patterns[tuple(sorted(compare(records[i], profiles[j]).items()))] += 1

    m = {
        name: [(k + 1) / sum(range(1, len(levels) + 1)) for k in range(len(levels))] for name, levels in LEVELS.items()
    }
    prior = 0.5
    for _ in range(iterations):
        m_counts = {name: [smoothing * 0.1] * len(levels) for name, levels in LEVELS.items()}
        total = 0.0
        for pattern, count in patterns.items():
            log_m = math.log(prior) + sum(math.log(m[n][lv]) for n, lv in pattern)
            log_u = math.log(1 - prior) + sum(math.log(u[n][lv]) for n, lv in pattern)
            p = count / (1 + math.exp(max(-700, min(700, log_u - log_m))))
            total += p
            for name, level in pattern:
                m_counts[name][level] += p
        m = {name: [c / sum(counts) for c in counts] for name, counts in m_counts.items()}
        prior = min(max(total / max(len(pairs), 1), 1e-6), 1 - 1e-6)
    # EM's prior is that of a blocked pair; the score's is that of any two records, as in Splink: the
    # matches found in blocks spread over all pairs (conservative: blocks miss a few matches).
    all_pairs = max(len(records) * (len(records) - 1) // 2, 1)
    global_prior = min(max(prior * blocked_pairs / all_pairs, 1e-9), 0.5)
    return {
        "prior": global_prior,
        "prior_records": len(records),
        "fields": {name: {"levels": list(LEVELS[name]), "m": m[name], "u": u[name]} for name in LEVELS},
        "estimated_from": {"records": len(records), "blocked_pairs": blocked_pairs, "random_pairs": random_pairs},
    }
