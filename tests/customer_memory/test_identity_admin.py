"""The analysts' review queue and merge history in the admin: accept, reject, undo."""

import pytest
from django.urls import reverse

from customer_memory.models import Customer, MatchCandidate, Merge
from tests.personas import miles_account_update, miles_app_login, miles_shop_order, person_event

pytestmark = pytest.mark.django_db

CANDIDATES = reverse("admin:customer_memory_matchcandidate_changelist")
MERGES = reverse("admin:customer_memory_merge_changelist")
# A name and nothing else: likely enough for the review band, never enough to merge.
ANA_LIMA = {"first_name": "Ana", "last_name": "Lima"}


def proposed_pair(ingest) -> MatchCandidate:
    ingest(person_event("r-1", ANA_LIMA), person_event("r-2", ANA_LIMA))
    return MatchCandidate.objects.get()


def test_the_review_queue_lists_pending_pairs_with_their_score(admin_client, ingest):
    candidate = proposed_pair(ingest)

    response = admin_client.get(CANDIDATES, {"status__exact": "pending"})

    assert response.status_code == 200
    assert [c.pk for c in response.context["cl"].result_list] == [candidate.pk]
    assert (
        admin_client.get(reverse("admin:customer_memory_matchcandidate_change", args=[candidate.pk])).status_code == 200
    )


def test_accepting_a_pair_in_the_admin_merges_it(admin_client, ingest):
    candidate = proposed_pair(ingest)

    response = admin_client.post(CANDIDATES, {"action": "accept", "_selected_action": [candidate.pk]}, follow=True)

    assert response.status_code == 200
    candidate.refresh_from_db()
    assert candidate.status == "accepted" and candidate.decided_by == "admin:admin"
    assert Customer.objects.live().count() == 1 and Merge.objects.get().reason == "review"


def test_rejecting_a_pair_in_the_admin_keeps_them_apart(admin_client, ingest):
    candidate = proposed_pair(ingest)

    admin_client.post(CANDIDATES, {"action": "reject", "_selected_action": [candidate.pk]}, follow=True)
    ingest(person_event("r-3", ANA_LIMA, anonymous_id="anon-r-2"))

    candidate.refresh_from_db()
    assert candidate.status == "rejected"
    assert Customer.objects.live().count() == 2 and MatchCandidate.objects.count() == 1


def test_undoing_a_merge_in_the_admin(admin_client, ingest):
    ingest(miles_app_login(), miles_shop_order(), miles_account_update())
    merge = Merge.objects.get()

    response = admin_client.post(MERGES, {"action": "undo_merges", "_selected_action": [merge.pk]}, follow=True)

    assert response.status_code == 200
    merge.refresh_from_db()
    assert merge.undone_at is not None and merge.undone_by == "admin:admin"
    assert Customer.objects.live().count() == 2
    assert admin_client.get(reverse("admin:customer_memory_merge_change", args=[merge.pk])).status_code == 200
