"""Linking rules: strong identifiers join, merge protection, weak evidence scored, the review queue, undo."""

import json
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_ingest.models import RawEvent
from customer_memory.identifiers import ObservedIdentifier
from customer_memory.identity import profiles
from customer_memory.identity.matching import (
    LEVELS,
    Score,
    compare,
    compare_known,
    meets_auto_merge_requirements,
    parameters,
    prior_at,
    score,
)
from customer_memory.models import Customer, Identifier, MatchCandidate, Merge, TermCount
from customer_memory.services import (
    CandidateAlreadyDecided,
    MergeNotUndoable,
    customer_link,
    match_candidate_accept,
    match_candidate_reject,
    merge_undo,
)
from interactions.models import Interaction
from tests.personas import DANIEL_OKAFOR, GRACE_OKAFOR, ROSA, person_event

pytestmark = pytest.mark.django_db
AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ANA_LIMA = {"first_name": "Ana", "last_name": "Lima"}
ANA_IN_LEITH = {**ANA_LIMA, "address": {"city": "Leith"}}


def link(*identifiers, traits=None, **kwargs):
    return customer_link(identifiers=list(identifiers), traits=traits or {}, source="test", observed_at=AT, **kwargs)


def ident(kind, value, verified=False):
    return ObservedIdentifier(kind=kind, value=value, verified=verified)


def customer_of_event(external_id):
    return Customer.objects.get(identifiers__value=f"anon-{external_id}").resolved()


def holder(kind, value):
    return Customer.objects.by_identifier(kind, value)


# --- deterministic rules


def test_a_shared_account_id_joins_two_customers():
    phone_only = link(ident("phone", "+14155550100")).customer
    account_only = link(ident("account", "A-1"), ident("email", "m@example.com")).customer

    result = link(ident("account", "A-1"), ident("phone", "+14155550100", verified=True))

    assert len(result.merges) == 1 and result.merges[0].rule == "join:account,phone"
    assert Customer.objects.live().count() == 1
    assert {phone_only.pk, account_only.pk} == {result.merges[0].survivor_id, result.merges[0].merged_id}


def test_an_unverified_phone_and_email_in_one_event_do_not_merge_but_go_to_review():
    by_phone = link(ident("phone", "+14155550100")).customer
    by_email = link(ident("email", "m@example.com")).customer

    result = link(ident("phone", "+14155550100"), ident("email", "m@example.com"))

    assert result.merges == []
    assert Customer.objects.live().count() == 2
    candidate = MatchCandidate.objects.get()
    assert candidate.reason == "shared_identifier" and candidate.status == "pending"
    assert {candidate.customer_id, candidate.other_id} == {by_phone.pk, by_email.pk}
    # The event went to the owner of its strongest identifier (email outranks phone in IDENTITY_RULES).
    assert result.customer == by_email


def test_the_same_identifiers_verified_do_merge():
    link(ident("phone", "+14155550100"))
    link(ident("email", "m@example.com"))

    result = link(ident("phone", "+14155550100", verified=True), ident("email", "m@example.com", verified=True))

    assert len(result.merges) == 1 and result.merges[0].reason == "shared_identifier"
    assert Customer.objects.live().count() == 1


def test_rules_are_data_a_setting_can_make_phones_join_without_verification(settings):
    settings.IDENTITY_RULES = {**settings.IDENTITY_RULES, "phone": {"priority": 60, "joins": "always", "limit": None}}
    link(ident("phone", "+14155550100"))
    link(ident("account", "A-1"))

    result = link(ident("phone", "+14155550100"), ident("account", "A-1"))

    assert len(result.merges) == 1


def test_merge_protection_two_account_ids_never_merge_automatically():
    first = link(ident("account", "A-1"), ident("phone", "+14155550100")).customer
    second = link(ident("account", "A-2"), ident("email", "m@example.com")).customer

    # A user id shared by both would join them, but together they would hold two account ids (limit 1).
    link(ident("user_id", "u-1"), ident("account", "A-1"))
    result = link(ident("user_id", "u-1"), ident("account", "A-2"))

    assert result.merges == []
    assert Customer.objects.live().count() == 2
    candidate = MatchCandidate.objects.get()
    assert candidate.reason == "merge_protection"
    assert {candidate.customer_id, candidate.other_id} == {first.pk, second.pk}


def test_a_second_account_for_a_known_caller_gets_its_own_customer_and_a_review():
    caller = link(ident("account", "A-1"), ident("phone", "+14155550100")).customer

    result = link(ident("phone", "+14155550100", verified=True), ident("account", "A-2"))

    assert result.customer != caller and result.created
    assert holder("account", "A-2") == result.customer and holder("account", "A-1") == caller
    assert MatchCandidate.objects.get().reason == "merge_protection"


def test_an_analyst_accepting_a_protected_pair_merges_it_anyway():
    link(ident("account", "A-1"), ident("phone", "+14155550100"))
    link(ident("phone", "+14155550100", verified=True), ident("account", "A-2"))
    candidate = MatchCandidate.objects.get()

    merge = match_candidate_accept(candidate_id=candidate.pk, actor="admin:ana")

    assert merge.reason == "review" and merge.actor == "admin:ana" and merge.rule == "review:merge_protection"
    candidate.refresh_from_db()
    assert candidate.status == "accepted" and candidate.merge == merge
    assert Customer.objects.live().count() == 1


# --- weak evidence


def test_weak_evidence_that_agrees_on_name_dob_and_address_merges_with_its_score(ingest):
    ingest(person_event("w-1", ROSA))
    ingest(person_event("w-2", {**ROSA, "first_name": "rosa", "last_name": "DIAZ"}, phone="+44 7700 900123"))

    assert Customer.objects.live().count() == 1
    merge = Merge.objects.get()
    assert merge.reason == "probabilistic" and merge.rule == "score" and merge.score >= 0.99
    assert merge.evidence["levels"]["dob"] == "exact" and merge.raw_event.external_id == "w-2"
    survivor = Customer.objects.live().get()
    assert survivor.interactions.count() == 2
    assert set(survivor.identifiers.values_list("kind", flat=True)) == {"anonymous_id", "phone"}


def test_a_form_without_a_name_merges_on_the_exact_date_of_birth_at_the_same_address(ingest):
    ingest(person_event("u-1", GRACE_OKAFOR), person_event("u-2", DANIEL_OKAFOR))
    nameless = {key: value for key, value in GRACE_OKAFOR.items() if key not in ("first_name", "last_name")}
    ingest(person_event("u-3", nameless))
    # Daniel's date at the same address, without a name: his, not Grace's.
    ingest(person_event("u-4", {**nameless, "date_of_birth": DANIEL_OKAFOR["date_of_birth"]}))

    grace = Customer.objects.get(identifiers__value="anon-u-1").resolved()
    daniel = Customer.objects.get(identifiers__value="anon-u-2").resolved()
    assert Customer.objects.get(identifiers__value="anon-u-3").resolved() == grace
    assert Customer.objects.get(identifiers__value="anon-u-4").resolved() == daniel
    assert grace != daniel
    assert Merge.objects.get(raw_event__external_id="u-3").evidence["levels"] == {
        "city": "exact",
        "dob": "exact",
        "postcode": "exact",
        "street": "exact",
    }


def test_a_nickname_and_a_typo_in_the_street_still_merge(ingest):
    bob = {**ROSA, "first_name": "Robert", "last_name": "Fenwick"}
    ingest(person_event("n-1", bob))
    ingest(person_event("n-2", {**bob, "first_name": "Bob", "address": {**ROSA["address"], "line1": "12 Harbor St"}}))

    assert Customer.objects.live().count() == 1


def test_a_household_sharing_surname_and_address_is_never_merged(ingest):
    ingest(person_event("h-1", GRACE_OKAFOR), person_event("h-2", DANIEL_OKAFOR))
    ingest(person_event("h-3", {**DANIEL_OKAFOR, "date_of_birth": None}))

    assert Merge.objects.filter(reason="probabilistic").count() <= 1  # daniel's two visits may merge
    grace = Customer.objects.get(identifiers__value="anon-h-1")
    assert grace.merged_into is None and grace.interactions.count() == 1


def test_a_shared_surname_and_city_is_not_enough(ingest):
    ingest(
        person_event("s-1", {"first_name": "John", "last_name": "Smith", "address": {"city": "London"}}),
        person_event("s-2", {"first_name": "Mary", "last_name": "Smith", "address": {"city": "London"}}),
    )

    assert Customer.objects.live().count() == 2
    assert not Merge.objects.exists()


def test_a_name_alone_is_queued_for_review_whatever_the_score(ingest, settings):
    # Same given name and surname, nothing else: likely, not certain (the auto-merge requirements).
    ingest(person_event("r-1", ANA_LIMA))
    ingest(person_event("r-2", ANA_LIMA))

    candidates = MatchCandidate.objects.filter(reason="score")
    if not candidates.exists():
        pytest.fail(f"expected a review proposal; merges: {list(Merge.objects.values('score', 'evidence'))}")
    candidate = candidates.get()
    assert candidate.score >= settings.IDENTITY_REVIEW_THRESHOLD and candidate.status == "pending"
    assert candidate.evidence["levels"] == {"given": "exact", "surname": "exact"}
    assert Customer.objects.live().count() == 2


def test_among_a_million_customers_a_shared_full_name_alone_is_not_proposed(ingest, monkeypatch):
    """The prior is that of the store the parameters were estimated among (10,000 records): among a million
    customers a second Ana Lima is a coincidence, not a case for an analyst (among a few thousand it is,
    see test_a_name_alone_is_queued_for_review_whatever_the_score)."""
    ingest(person_event("n-1", ANA_LIMA))
    monkeypatch.setitem(profiles._stored, "count", 1_000_000)
    monkeypatch.setitem(profiles._stored, "until", float("inf"))
    ingest(person_event("n-2", ANA_LIMA))
    assert not MatchCandidate.objects.exists() and Customer.objects.live().count() == 2

    monkeypatch.setitem(profiles._stored, "count", 5_000)
    ingest(person_event("n-3", ANA_LIMA))
    assert MatchCandidate.objects.filter(reason="score", status="pending").exists()


def test_the_prior_shrinks_with_the_customers_on_record_and_never_grows():
    params = parameters()
    assert prior_at(params, 0) == prior_at(params, params["prior_records"]) == params["prior"]
    assert prior_at(params, 10 * params["prior_records"]) == pytest.approx(params["prior"] / 10)
    levels = {"given": 3, "surname": 3, "phone": 0}
    assert score(levels, stored=1_000_000).probability < score(levels, stored=1_000).probability / 10


def test_stored_profiles_is_postgresqls_estimate_of_the_profiles_on_record(ingest, monkeypatch):
    for n in range(3):
        ingest(person_event(f"s-{n}", {"first_name": f"Given{n}", "last_name": "Stored", "phone": f"+1415555030{n}"}))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customer_memory_matchprofile")
    monkeypatch.setitem(profiles._stored, "until", 0.0)
    assert profiles.stored_profiles() == 3


def test_the_same_full_name_in_the_same_town_merges_while_the_name_is_not_common(ingest):
    ingest(person_event("f-1", ANA_IN_LEITH), person_event("f-2", ANA_IN_LEITH))

    assert Customer.objects.live().count() == 1
    assert Merge.objects.get().evidence["levels"] == {"city": "exact", "given": "exact", "surname": "exact"}


def test_titles_in_the_name_fields_do_not_make_two_people_agree_on_a_name(ingest):
    # An archive's form with "Sir" as the first name and "Bt." as the surname: two baronets of one town.
    ingest(
        person_event("t-1", {"first_name": "Sir", "last_name": "Bt.", "address": {"city": "Westminster"}}),
        person_event("t-2", {"first_name": "Sir", "last_name": "Bt.", "address": {"city": "Westminster"}}),
    )

    assert Customer.objects.live().count() == 2
    assert not MatchCandidate.objects.exists()


def test_a_title_before_the_given_name_does_not_hide_it(ingest):
    ingest(
        person_event("t-1", {**ANA_IN_LEITH, "first_name": "Dr. Ana"}),
        person_event("t-2", ANA_IN_LEITH),
    )

    assert Customer.objects.live().count() == 1
    assert Merge.objects.get().evidence["levels"] == {"city": "exact", "given": "exact", "surname": "exact"}


def test_a_common_full_name_in_a_big_town_is_not_merged(ingest):
    # Counts as a city of 10,000 linked events would have left them: 1 in 20 is an Ana, 1 in 30 a Lima,
    # 1 in 5 lives in Leith. Two Ana Limas of Leith are then more likely two people than one.
    TermCount.objects.bulk_create(
        TermCount(field=field, value=value, count=count)
        for field, value, count in [
            ("given", "", 10_000),
            ("given", "ana", 500),
            ("surname", "", 10_000),
            ("surname", "lima", 300),
            ("city", "", 10_000),
            ("city", "leith", 2_000),
        ]
    )
    ingest(person_event("c-1", ANA_IN_LEITH), person_event("c-2", ANA_IN_LEITH))

    assert Customer.objects.live().count() == 2
    assert not Merge.objects.exists()


def test_a_linked_event_counts_its_names_and_town_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        link(ident("anonymous_id", "a-1"), traits=ANA_IN_LEITH)
        link(ident("anonymous_id", "a-2"), traits={**ANA_IN_LEITH, "first_name": "Bia"})

    counts = {(t.field, t.value): t.count for t in TermCount.objects.all()}
    assert counts[("given", "ana")] == counts[("given", "bia")] == 1
    assert counts[("given", "")] == counts[("surname", "lima")] == counts[("city", "leith")] == 2


def test_a_rejected_pair_is_never_proposed_or_merged_again(ingest):
    ingest(person_event("r-1", ANA_LIMA), person_event("r-2", ANA_LIMA))
    candidate = MatchCandidate.objects.get()
    match_candidate_reject(candidate_id=candidate.pk, actor="admin:ana")

    with pytest.raises(CandidateAlreadyDecided):
        match_candidate_accept(candidate_id=candidate.pk, actor="admin:bo")
    first, second = Customer.objects.get(pk=candidate.customer_id), Customer.objects.get(pk=candidate.other_id)
    # A later event carrying both web ids (which join) must not merge them either.
    first_anon = first.identifiers.get().value
    second_anon = second.identifiers.get().value
    link(ident("anonymous_id", first_anon), ident("anonymous_id", second_anon))

    assert Customer.objects.live().count() == 2
    assert MatchCandidate.objects.count() == 1 and MatchCandidate.objects.get().status == "rejected"


# --- undo


def test_undo_gives_each_customer_back_its_identifiers_traits_and_interactions(ingest):
    ingest(person_event("u-1", ROSA, phone="+44 7700 900123"))
    ingest(person_event("u-2", ROSA, email="rosa@example.com"))
    merge = Merge.objects.get()
    survivor, merged = merge.survivor, merge.merged
    ingest(person_event("u-3", {}, anonymous_id="anon-u-2", occurred_at="2026-11-21T10:00:00Z"))  # after the merge

    undone = merge_undo(merge_id=merge.pk, actor="admin:ana")

    assert undone.undone_at is not None and undone.undone_by == "admin:ana"
    merged.refresh_from_db()
    assert merged.merged_into is None
    assert set(merged.identifiers.values_list("value", flat=True)) == {"anon-u-2", "rosa@example.com"}
    assert set(survivor.identifiers.values_list("value", flat=True)) == {"anon-u-1", "+447700900123"}
    # The event that came in after the merge through the merged side's web id goes back with it.
    assert set(Interaction.objects.filter(customer=merged).values_list("external_id", flat=True)) == {"u-2", "u-3"}
    assert set(Interaction.objects.filter(customer=survivor).values_list("external_id", flat=True)) == {"u-1"}
    assert merged.traits.exists() and survivor.traits.exists()
    assert RawEvent.objects.get(external_id="u-2").customer == merged
    assert MatchCandidate.objects.get().status == "rejected"


def test_after_an_undo_the_same_evidence_does_not_merge_them_again(ingest):
    ingest(person_event("u-1", ROSA), person_event("u-2", ROSA))
    merge_undo(merge_id=Merge.objects.get().pk, actor="admin:ana")

    ingest(person_event("u-4", ROSA, anonymous_id="anon-u-2"))

    assert Customer.objects.live().count() == 2
    assert Merge.objects.filter(undone_at__isnull=True).count() == 0


def test_a_merge_cannot_be_undone_twice():
    link(ident("account", "A-1"))
    link(ident("email", "m@example.com"))
    merge = link(ident("account", "A-1"), ident("email", "m@example.com", verified=True)).merges[0]
    merge_undo(merge_id=merge.pk, actor="t")

    with pytest.raises(MergeNotUndoable):
        merge_undo(merge_id=merge.pk, actor="t")


def test_undo_restores_the_survivors_own_name():
    link(ident("account", "A-1"))
    link(ident("email", "m@example.com"), traits={"name": "Miles Reed"})
    result = link(ident("account", "A-1"), ident("email", "m@example.com", verified=True))
    survivor = result.customer
    assert survivor.name == "Miles Reed"  # filled from the merged customer

    merge_undo(merge_id=result.merges[0].pk, actor="t")

    survivor.refresh_from_db()
    assert survivor.name == ""
    assert Identifier.objects.get(kind="email").customer.name == "Miles Reed"


def test_a_score_between_the_thresholds_is_proposed_and_one_below_is_ignored(ingest, settings):
    # Same name and postcode, nothing else: with the auto-merge threshold raised above its score, the pair
    # is in the review band; with the review threshold raised too, nothing at all happens.
    ana = {"first_name": "Ana", "last_name": "Lima", "address": {"postcode": "EH6 6QW"}}
    settings.IDENTITY_AUTO_MERGE_THRESHOLD = 0.999999999
    ingest(person_event("t-1", ana), person_event("t-2", ana))
    candidate = MatchCandidate.objects.get()
    assert settings.IDENTITY_REVIEW_THRESHOLD <= candidate.score < settings.IDENTITY_AUTO_MERGE_THRESHOLD

    settings.IDENTITY_REVIEW_THRESHOLD = 0.999999998
    ingest(person_event("t-3", {**ana, "first_name": "Anna"}))

    assert MatchCandidate.objects.count() == 1 and not Merge.objects.exists()


def test_undoing_a_weak_evidence_link_gives_the_event_its_own_named_customer(ingest):
    ingest(person_event("b-1", ROSA), person_event("b-2", {**ROSA, "first_name": "Rosa María"}))
    merge = Merge.objects.get()
    assert merge.evidence["born_merged"] is True and merge.merged.merged_into == merge.survivor

    merge_undo(merge_id=merge.pk, actor="t")

    merged = Customer.objects.get(pk=merge.merged_id)
    assert merged.merged_into is None and merged.name == "Rosa María Díaz"
    assert merged.identifiers.get().value == "anon-b-2"
    assert set(merged.traits.values_list("name", flat=True)) == {"first_name", "last_name", "date_of_birth", "address"}
    assert merged.profile.evidence["given"] == ["rosa"] and merged.blocking_keys.exists()
    assert Customer.objects.get(pk=merge.survivor_id).name == "Rosa Díaz"


def test_an_exact_date_of_birth_at_the_same_address_merges_even_when_the_names_were_replaced(ingest):
    # Neither name in common, but the same birth date, street and postcode: one person (a household's members
    # differ in birth date).
    ingest(person_event("x-1", GRACE_OKAFOR))
    ingest(person_event("x-2", {**GRACE_OKAFOR, "first_name": "Ngozi", "last_name": "Eze"}))

    assert Customer.objects.live().count() == 1
    assert Merge.objects.get().evidence["levels"]["dob"] == "exact"


def test_a_sibling_born_within_a_year_at_the_same_address_is_never_merged(ingest):
    # Same surname, street, postcode and town, birth dates eleven months apart: a household, not typos.
    ingest(person_event("y-1", DANIEL_OKAFOR))
    ingest(person_event("y-2", {**DANIEL_OKAFOR, "first_name": "Chidi", "date_of_birth": "1991-10-02"}))

    assert Customer.objects.live().count() == 2
    assert not Merge.objects.exists()


def test_an_event_matching_two_customers_strongly_merges_them(ingest):
    # Robert's first visit gave no address, his second no given name: too little in common to merge the two,
    # but a third visit with everything matches each of them on its own.
    robert = {**ROSA, "first_name": "Robert", "last_name": "Fenwick"}
    ingest(person_event("m-1", {k: v for k, v in robert.items() if k != "address"}))
    ingest(person_event("m-2", {k: v for k, v in robert.items() if k != "first_name"}))
    assert Customer.objects.live().count() == 2

    ingest(person_event("m-3", robert))

    assert Customer.objects.live().count() == 1
    assert Merge.objects.filter(reason="probabilistic").count() == 2


def test_a_name_written_in_the_other_names_place_counts_as_close():
    levels = compare({"given": "schuman", "surname": "alexandra"}, {"given": ["harrison"], "surname": ["schuamnn"]})

    assert levels == {"given": 0, "surname": 2}


def test_a_requirement_can_ask_for_a_level_such_as_an_exact_date_of_birth():
    exact_date = [[["dob>=4"], ["street"]]]

    assert meets_auto_merge_requirements({"dob": 4, "street": 1}, exact_date)
    assert not meets_auto_merge_requirements({"dob": 3, "street": 2}, exact_date)


def test_a_date_of_birth_within_ten_years_weighs_in_the_score_but_never_counts_as_agreeing():
    garbled = compare({"given": "mason", "surname": "hughes", "dob": "2000-01-26"}, {"dob": ["1990-01-29"]})
    parent = compare({"dob": "2000-01-26"}, {"dob": ["1962-05-01"]})

    assert Score(1, 0, garbled).explain() == {"dob": "within ten years"}
    assert Score(1, 0, parent).explain() == {"dob": "different"}
    # The full name beside it is not enough to merge: "dob" agrees from one typo, "dob>=2" from a year off.
    assert not meets_auto_merge_requirements({"given": 3, "surname": 3, **garbled})
    assert meets_auto_merge_requirements({"given": 3, "surname": 3, "dob": 2})


def test_a_parameters_file_estimated_for_other_levels_is_refused_with_what_to_do(settings, tmp_path):
    old = parameters()
    old_dob = {
        "levels": ["different", "two typos or within a year", "one typo", "exact"],
        "m": [0.1] * 4,
        "u": [0.1] * 4,
    }
    path = tmp_path / "old-parameters.json"
    path.write_text(json.dumps({**old, "fields": {**old["fields"], "dob": old_dob}}))
    settings.IDENTITY_MATCH_PARAMETERS = str(path)

    with pytest.raises(ImproperlyConfigured, match="field 'dob' has levels .* estimate it again"):
        parameters()


def test_the_shipped_parameters_have_an_m_and_a_u_for_every_level_of_every_field():
    fields = parameters()["fields"]

    for name, levels in LEVELS.items():
        assert fields[name]["levels"] == list(levels), name
        assert len(fields[name]["m"]) == len(fields[name]["u"]) == len(levels), name


def test_a_record_with_given_name_and_surname_swapped_finds_and_merges_with_its_owner(ingest):
    # No date of birth and a mistyped postcode: only the names, in either order, file the two together.
    nathan = {
        "first_name": "Nathan",
        "last_name": "Morrison",
        "address": {"line1": "59 Peppin Pl", "city": "Eaglehawk", "postcode": "6172"},
    }
    swapped = {
        "first_name": "Morrison",
        "last_name": "Nathan",
        "address": {"line1": "59 Peppin Place", "city": "Eaglehawk", "postcode": "6127"},
    }
    ingest(person_event("sw-1", nathan), person_event("sw-2", swapped))

    assert Customer.objects.live().count() == 1
    assert Merge.objects.get().evidence["levels"]["given"] == "close"


def test_a_lone_name_is_compared_as_a_surname_too():
    watts = {"given": ["william"], "surname": ["watts"], "city": ["leeds"]}

    assert compare({"given": "watts", "city": "leeds"}, watts) == {"surname": 3, "city": 2}
    assert compare({"given": "william", "surname": "watts"}, {"given": ["watts"]}) == {"surname": 3}
    # A lone name that is the given name stays one; two full names are compared name by name.
    assert compare({"given": "william"}, watts) == {"given": 3}
    assert compare({"given": "mary", "surname": "watts"}, watts) == {"given": 0, "surname": 3}


def test_an_event_with_its_surname_alone_in_the_first_name_finds_and_merges_with_its_owner(ingest):
    charles = {
        "first_name": "Charles",
        "last_name": "Benazech",
        "date_of_birth": "1967-03-01",
        "address": {"city": "London"},
    }
    lone = {"first_name": "Benazech", "date_of_birth": "1967-03-01", "address": {"city": "London"}}
    ingest(person_event("ln-1", charles), person_event("ln-2", lone))

    assert Customer.objects.live().count() == 1
    assert Merge.objects.get().evidence["levels"] == {"city": "exact", "dob": "exact", "surname": "exact"}


def test_a_repeat_contact_that_tells_nothing_new_is_not_matched_again_and_a_new_value_is():
    rosa = {"first_name": "Rosa", "last_name": "Valdez", "date_of_birth": "1984-02-11"}
    known = link(ident("phone", "+14155550170"), traits=rosa).customer

    def blocking_reads(**traits):
        with CaptureQueriesContext(connection) as queries:
            assert link(ident("phone", "+14155550170"), traits=traits).customer.pk == known.pk
        return [q["sql"] for q in queries if "blockingkey" in q["sql"] and q["sql"].lstrip().startswith("SELECT")]

    # Everything already in her profile: no candidate lookup, no score (a repeat contact costs no matching).
    assert blocking_reads(**rosa) == []
    assert blocking_reads(first_name="Rosa") == []
    # A value her profile lacks (a postcode) can find someone new: she is matched again.
    assert blocking_reads(**rosa, address={"postcode": "94110"}) != []


# --- review pairs settled by later evidence

ROBERT = {"first_name": "Robert", "last_name": "Fenwick"}


def test_a_known_callers_name_settles_a_review_pair_with_what_their_customer_already_knew(ingest):
    # The caller's first contact gave only a date of birth (by phone); a web visitor gave the same name and
    # date. When the caller later gives their name, the name alone would be a review case, but with the date
    # their customer knew the two agree on name and birth date: one person.
    ingest(person_event("k-1", {"date_of_birth": "1971-06-24"}, phone="+44 7700 900123"))
    ingest(person_event("k-2", {**ROBERT, "date_of_birth": "1971-06-24", "address": {"city": "Leith"}}))
    assert Customer.objects.live().count() == 2

    ingest(person_event("k-3", ROBERT, phone="+44 7700 900123"))

    assert Customer.objects.live().count() == 1
    merge = Merge.objects.get()
    assert merge.rule == "score:settled" and merge.reason == "probabilistic" and merge.score >= 0.99
    assert merge.evidence["levels"] == {"dob": "exact", "given": "exact", "surname": "exact"}


def test_a_later_visit_settles_a_pending_review_pair_and_the_merge_can_be_undone(ingest):
    # Robert's first visit gave his date of birth and street, a second (no given name) the same date and a
    # postcode: surname and date alone wait for review. A third visit, with his street and postcode, joins the
    # first; with what the first knew it agrees with the second on surname, date and postcode.
    ingest(person_event("p-1", {**ROBERT, "date_of_birth": "1971-06-24", "address": {"line1": "12 Harbour St"}}))
    ingest(
        person_event("p-2", {"last_name": "Fenwick", "date_of_birth": "1971-06-24", "address": {"postcode": "EH6 6QW"}})
    )
    assert MatchCandidate.objects.filter(status="pending").count() == 1
    assert Customer.objects.live().count() == 2

    ingest(person_event("p-3", {**ROBERT, "address": {"line1": "12 Harbour St", "postcode": "EH6 6QW"}}))

    assert Customer.objects.live().count() == 1
    settled = Merge.objects.get(rule="score:settled")
    assert settled.evidence["levels"] == {"dob": "exact", "postcode": "exact", "surname": "exact"}
    assert MatchCandidate.objects.get().status == "accepted"

    merge_undo(merge_id=settled.pk, actor="admin:ana")

    assert Customer.objects.live().count() == 2
    assert MatchCandidate.objects.get().status == "rejected"


def test_what_a_customer_knew_does_not_settle_a_household_pair(ingest):
    # Grace's customer knows her date of birth; an event with only her name and address does not make her
    # and Daniel (same surname and address, another given name and date) one person.
    ingest(person_event("o-1", GRACE_OKAFOR), person_event("o-2", DANIEL_OKAFOR))
    ingest(person_event("o-3", {**GRACE_OKAFOR, "date_of_birth": None}))

    grace = Customer.objects.get(identifiers__value="anon-o-1").resolved()
    daniel = Customer.objects.get(identifiers__value="anon-o-2").resolved()
    assert grace.pk != daniel.pk
    assert not Merge.objects.filter(rule="score:settled").exists()


def test_compare_known_takes_each_fields_best_agreement_of_the_event_or_what_is_known():
    known = {"given": ["robert"], "surname": ["fenwick"], "dob": ["1971-06-24", "1971-06-25"]}

    levels = compare_known({"given": "bob", "surname": "fenwik"}, known, {"given": ["robert"], "dob": ["1971-06-25"]})

    assert levels == {"given": 3, "dob": 4}


def test_the_same_given_name_at_the_same_street_and_postcode_merges_across_a_changed_surname(ingest):
    # Grace gave her maiden name on one form and her married name on another, no date of birth on either.
    grace = {k: v for k, v in GRACE_OKAFOR.items() if k != "date_of_birth"}
    ingest(person_event("g-1", grace), person_event("g-2", {**grace, "last_name": "Adeyemi"}))

    assert Customer.objects.live().count() == 1
    levels = Merge.objects.get().evidence["levels"]
    assert levels["given"] == "exact" and levels["street"] == "exact" and levels["surname"] == "different"


def test_the_same_given_name_at_the_same_postcode_and_town_merges_when_one_form_gives_no_surname(ingest):
    # A form of Grace's with her first name and postcode only (no surname, no street, no date of birth).
    grace = {"first_name": "Grace", "address": {"city": "Hull", "postcode": "HU1 2AB"}}
    ingest(person_event("p-1", GRACE_OKAFOR), person_event("p-2", DANIEL_OKAFOR), person_event("p-3", grace))

    assert customer_of_event("p-3") == customer_of_event("p-1") != customer_of_event("p-2")
    levels = Merge.objects.get(raw_event__external_id="p-3").evidence["levels"]
    assert levels == {"city": "exact", "given": "exact", "postcode": "exact"}


def test_another_given_name_at_the_same_postcode_and_town_without_a_surname_is_not_merged(ingest):
    amaka = {"first_name": "Amaka", "address": {"city": "Hull", "postcode": "HU1 2AB"}}
    ingest(person_event("p-1", GRACE_OKAFOR), person_event("p-2", amaka))

    assert customer_of_event("p-2") != customer_of_event("p-1")
    assert not Merge.objects.exists()


def test_flatmates_with_another_given_name_at_the_same_street_and_postcode_are_not_merged(ingest):
    grace = {k: v for k, v in GRACE_OKAFOR.items() if k != "date_of_birth"}
    ingest(person_event("f-1", grace), person_event("f-2", {**grace, "first_name": "Amaka", "last_name": "Eze"}))

    assert Customer.objects.live().count() == 2
    assert not Merge.objects.exists()


def test_a_repeat_contact_of_a_customer_with_a_pending_review_pair_is_matched_again(ingest):
    # It may bring what settles the pair (a review pair settled by later evidence), so it is not skipped.
    ingest(person_event("a-1", ANA_LIMA, anonymous_id="ana-1"), person_event("a-2", ANA_LIMA))
    assert MatchCandidate.objects.filter(status="pending").exists()

    with CaptureQueriesContext(connection) as queries:
        ingest(person_event("a-3", ANA_LIMA, anonymous_id="ana-1"))
    assert Customer.objects.live().count() == 2
    assert any("blockingkey" in q["sql"] for q in queries if q["sql"].lstrip().startswith("SELECT"))


def test_a_mistyped_given_name_with_the_surname_in_the_same_town_merges(ingest):
    # A source with a town and no street or date of birth (a birthplace in an archive).
    theodore = {"first_name": "Theodore", "last_name": "Okonkwo", "address": {"city": "Leith"}}
    ingest(person_event("t-1", theodore), person_event("t-2", {**theodore, "first_name": "Theodor"}))

    assert Customer.objects.live().count() == 1
    assert Merge.objects.get().evidence["levels"] == {"city": "exact", "given": "close", "surname": "exact"}


def test_another_given_name_with_the_surname_in_the_same_town_is_not_merged(ingest):
    theodore = {"first_name": "Theodore", "last_name": "Okonkwo", "address": {"city": "Leith"}}
    ingest(person_event("t-1", theodore), person_event("t-2", {**theodore, "first_name": "Chioma"}))

    assert Customer.objects.live().count() == 2
