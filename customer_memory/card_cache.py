"""The card cache: a customer's card facts kept in the Django cache (Redis in production), never stale.

How freshness is guaranteed:
- Each customer has a *token* (a random string) in the cache; any change to what feeds their card
  replaces it, after the change commits (`card_changed`). Cached facts carry the token they were built
  under and are served only while it is still the customer's token. A reader fetches the token *before*
  reading the database, so facts built from data older than a change always carry an older token, even
  when the reader writes them after the change committed.
- Agents' names appear on many cards: one global agents token does the same for all of them.
- The lookup path (identifier -> customer id) is cached too, and checked against the facts it leads to:
  the facts list the customer's identifiers, so an identifier that moved (merge, erasure) misses.
- Only data is cached; "12 minutes ago", overdue flags and the greeting are worded at read time.

Model saves and deletes call `card_changed` through the receivers below. Writes that bypass signals
(`QuerySet.update`, `bulk_create`) must call `card_changed(customer_ids)` themselves, after commit.
"""

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from customer_memory.card import card_render, empty_card, live_card_facts
from customer_memory.identity.normalize import identifier_match_key
from customer_memory.models import Customer, Identifier, Trait
from customer_memory.redis_cache import cache_redis
from customer_memory.selectors import customer_by_id, lookup_value, parse_uuid
from interactions.models import Agent, Case, Handover, Interaction, Promise

_AGENTS_TOKEN = "card:agents-token"


def _facts_key(customer_id) -> str:
    return f"card:facts:{customer_id}"


def _token_key(customer_id) -> str:
    return f"card:token:{customer_id}"


def _who_key(kind: str, value: str) -> str:
    # Hashed: identifier values may hold characters or lengths a cache key should not.
    return "card:who:" + hashlib.blake2b(f"{kind}:{value}".encode(), digest_size=16).hexdigest()


def card_changed(customer_ids) -> None:
    """Something that feeds these customers' cards changed: no card built before this call is served after.

    Call it after the change commits (receivers here do it with transaction.on_commit)."""
    ids = {str(pk) for pk in customer_ids if pk}
    if not ids:
        return
    cache.set_many({_token_key(pk): uuid.uuid4().hex for pk in ids}, timeout=settings.CARD_CACHE_TIMEOUT * 2)
    cache.delete_many([_facts_key(pk) for pk in ids])


def card_forget(customer_ids, identifiers) -> None:
    """Erasure: drop every entry about these customers (facts, tokens, and the (kind, value) identifier →
    customer mappings) instead of rotating tokens, which are keyed by the customer's id. Call it after commit."""
    ids = {str(pk) for pk in customer_ids if pk}
    keys = [_facts_key(pk) for pk in ids] + [_token_key(pk) for pk in ids]
    cache.delete_many(keys + [_who_key(kind, value) for kind, value in identifiers])


def agents_changed() -> None:
    """An agent's name or profile changed: every card naming an agent is rebuilt on its next read."""
    cache.set(_AGENTS_TOKEN, uuid.uuid4().hex, timeout=None)


def _current_token(key: str) -> str:
    cache.add(key, uuid.uuid4().hex, timeout=None if key == _AGENTS_TOKEN else settings.CARD_CACHE_TIMEOUT * 2)
    return cache.get(key)


def cached_card_facts(customer_id) -> dict | None:
    """The card facts of a live customer, from the cache when still valid; None when there is no live
    customer with this id (merged-away ids are resolved by the caller)."""
    keys = [_facts_key(customer_id), _token_key(customer_id), _AGENTS_TOKEN]
    found = cache.get_many(keys)
    entry, token, agents_token = (found.get(key) for key in keys)
    if entry and token and agents_token and entry["token"] == token and entry["agents_token"] == agents_token:
        return entry["facts"]
    token = token or _current_token(keys[1])
    agents_token = agents_token or _current_token(_AGENTS_TOKEN)
    facts = live_card_facts(customer_id)
    if facts is None:
        return None
    cache.set(
        keys[0], {"token": token, "agents_token": agents_token, "facts": facts}, timeout=settings.CARD_CACHE_TIMEOUT
    )
    return facts


def cached_customer_id(kind: str, value: str) -> str | None:
    """The id of the customer holding (kind, normalized value), or None. May be stale: check it against
    the facts it leads to (see card_for_identifier), and call `forget_identifier` when it is."""
    key = _who_key(kind, value)
    redis = cache_redis()
    if redis is None:
        customer_id = cache.get(key)
    else:
        # Kept as the bare id, not pickled, so that the warm read's script can build the facts key from it.
        found = redis.get(cache.make_and_validate_key(key))
        customer_id = found.decode() if found else None
    if customer_id:
        return customer_id
    customer = Customer.objects.by_identifier(kind, value)
    if customer is None:
        return None
    if redis is None:
        cache.set(key, str(customer.pk), timeout=settings.CARD_CACHE_TIMEOUT)
    else:
        redis.set(cache.make_and_validate_key(key), str(customer.pk), ex=settings.CARD_CACHE_TIMEOUT)
    return str(customer.pk)


# --- The warm read in one Redis round trip: identifier -> customer id -> facts and both tokens; and, for the
# API, the request counted in its throttle window (stopping there when it is over the limit) and, when the
# facts are there, the access-log entry naming the customer appended. The keys it builds from the id are not
# declared in KEYS, which a single Redis (not Redis Cluster) allows.
_WARM_READ = """
local count = false
if ARGV[4] ~= '' then
  count = redis.call('INCR', KEYS[3])
  redis.call('EXPIRE', KEYS[3], ARGV[4], 'NX')
  if count > tonumber(ARGV[5]) then return {count} end
end
local id = ARGV[1]
if id == '' then
  id = redis.call('GET', KEYS[1])
  if not id then return {count} end
end
local entry, token = redis.call('GET', ARGV[2] .. id), redis.call('GET', ARGV[3] .. id)
local agents = redis.call('GET', KEYS[2])
local logged = false
if entry and token and agents and ARGV[6] ~= '' then
  logged = redis.call('RPUSH', KEYS[4], ARGV[6] .. id .. ARGV[7])
end
return {count, id, entry, token, agents, logged}
"""
_warm_read_script = None


@dataclass
class SameTrip:
    """What the API does in the warm read's round trip (cache keys as Django's cache API names them):
    - count the request under `counter_key` (INCR; expiry `counter_timeout` set when it has none), and call
      `over_limit(count)` with the count, which raises when it is past `limit` (then nothing else was read);
    - when the facts are in the cache, append `entry_head + customer id + entry_tail` to the list `log_key`.
    The read fills in `count` (None: the read never ran, count the request otherwise) and `logged` (the
    list's length after the append; None: nothing was appended, log the read otherwise). An entry appended for
    facts that then turn out stale is taken back (LREM) before the slow path."""

    counter_key: str
    counter_timeout: int
    limit: int
    over_limit: Callable[[int], None]
    log_key: str = ""
    entry_head: bytes = b""
    entry_tail: bytes = b""
    count: int | None = None
    logged: int | None = None
    _pushed: bytes | None = None

    def take_back(self, redis) -> None:
        if self._pushed is not None:
            redis.lrem(caches["default"].make_and_validate_key(self.log_key), -1, self._pushed)
            self._pushed, self.logged = None, None


def _warm_facts(
    *, who: str = "", customer_id: str = "", trip: SameTrip | None = None
) -> tuple[str | None, dict | None]:
    """(customer id, facts) from the cache in one round trip when everything is there and still valid, by
    identifier (`who`, a _who_key) or by id; (id or None, None) when the caller must take the slow path."""
    global _warm_read_script
    redis = cache_redis()
    if redis is None:
        return customer_id or None, None
    backend = caches["default"]
    if _warm_read_script is None:
        _warm_read_script = redis.register_script(_WARM_READ)
    agents_key = backend.make_and_validate_key(_AGENTS_TOKEN)
    counted = trip is not None and trip.count is None  # once per request, however many lookups it tries
    logs = counted and bool(trip.log_key)
    found = _warm_read_script(
        keys=[
            backend.make_and_validate_key(who) if who else agents_key,
            agents_key,
            backend.make_and_validate_key(trip.counter_key) if counted else agents_key,
            backend.make_and_validate_key(trip.log_key) if logs else agents_key,
        ],
        args=[
            customer_id,
            backend.make_key(_facts_key("")),
            backend.make_key(_token_key("")),
            trip.counter_timeout if counted else "",
            trip.limit if counted else 0,
            trip.entry_head if logs else "",
            trip.entry_tail if logs else "",
        ],
        client=redis,
    )
    if counted:
        trip.count = found[0]
        trip.over_limit(trip.count)
    if len(found) == 1:
        return None, None
    pk, entry, token, agents_token, logged = found[1:]
    pk = pk.decode()
    if logged is not None:
        trip.logged, trip._pushed = logged, trip.entry_head + pk.encode() + trip.entry_tail
    if entry is None or token is None or agents_token is None:
        return pk, None
    # Values were written through Django's cache API: its serializer reads them back.
    loads = backend._cache._serializer.loads
    entry, token, agents_token = loads(entry), loads(token), loads(agents_token)
    if entry["token"] != token or entry["agents_token"] != agents_token:
        if trip is not None:
            trip.take_back(redis)
        return pk, None
    return pk, entry["facts"]


def forget_identifier(kind: str, value: str) -> None:
    cache.delete(_who_key(kind, value))


# --- The card, served: what the API and the desk call.


def card_for_identifiers(
    lookups: list[tuple[str, str]], *, channel: str | None = None, now=None, trip: SameTrip | None = None
) -> dict:
    """The card of whoever holds the first known of these (kind, value) lookups, tried in order; the
    empty card (echoing the first lookup) when none is known. `trip`: see SameTrip."""
    for kind, value in lookups:
        normalized = lookup_value(kind, value)
        if normalized is None:
            continue
        customer_id, facts = _warm_facts(who=_who_key(kind, normalized), trip=trip)
        if facts is not None and _holds(facts, kind, normalized):
            return card_render(facts, lookup={"kind": str(kind), "value": value}, channel=channel, now=now)
        if trip is not None:
            trip.take_back(cache_redis())  # the identifier moved to another customer: not this card
        for _ in range(2):  # a cached mapping that turns out stale is dropped and looked up once more
            customer_id = cached_customer_id(kind, normalized)
            if customer_id is None:
                break
            facts = cached_card_facts(customer_id)
            held = facts and _holds(facts, kind, normalized)
            if held:
                return card_render(facts, lookup={"kind": str(kind), "value": value}, channel=channel, now=now)
            forget_identifier(kind, normalized)
    kind, value = lookups[0]
    return empty_card({"kind": str(kind), "value": value})


def _holds(facts: dict, kind: str, value: str) -> bool:
    """Whether the card's customer holds (kind, value): the stored value itself (the usual case, no parsing
    on the hot path), else by match key — a caller's national variant (Mexico's +52 1, say)."""
    same_kind = [i["value"] for i in facts["customer"]["identifiers"] if i["kind"] == kind]
    if value in same_kind:
        return True
    wanted = identifier_match_key(kind, value)
    return any(identifier_match_key(kind, held) == wanted for held in same_kind)


def card_for_customer_id(
    customer_id, *, channel: str | None = None, now=None, trip: SameTrip | None = None
) -> dict | None:
    """The card of a customer by id, following merges to the survivor; None when there is no such id.
    `trip`: see SameTrip."""
    pk = parse_uuid(customer_id)
    if pk is None:
        return None
    _, facts = _warm_facts(customer_id=str(pk), trip=trip)
    if facts is not None:
        return card_render(facts, channel=channel, now=now)
    facts = cached_card_facts(pk)
    if facts is None:
        survivor = customer_by_id(pk)  # merged away (or gone): follow the merge chain
        facts = cached_card_facts(survivor.pk) if survivor and survivor.pk != pk else None
    return card_render(facts, channel=channel, now=now) if facts else None


# --- Receivers: every model a card reads from.


def _after_commit(customer_id) -> None:
    if customer_id:
        transaction.on_commit(lambda: card_changed([customer_id]))


@receiver([post_save, post_delete], sender=Customer)
def _customer_saved(sender, instance, **kwargs):
    _after_commit(instance.pk)
    if instance.merged_into_id:
        _after_commit(instance.merged_into_id)


@receiver([post_save, post_delete], sender=Identifier)
@receiver([post_save, post_delete], sender=Trait)
@receiver([post_save, post_delete], sender=Interaction)
@receiver([post_save, post_delete], sender=Case)
@receiver([post_save, post_delete], sender=Promise)
def _customer_row_saved(sender, instance, **kwargs):
    _after_commit(instance.customer_id)


@receiver([post_save, post_delete], sender=Handover)
def _handover_saved(sender, instance, **kwargs):
    _after_commit(Case.objects.filter(pk=instance.case_id).values_list("customer_id", flat=True).first())


@receiver([post_save, post_delete], sender=Agent)
def _agent_saved(sender, instance, created=False, **kwargs):
    # A new agent is on no card yet: the interaction that names them invalidates its customer.
    if not created:
        transaction.on_commit(agents_changed)
