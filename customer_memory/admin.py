from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from customer_memory.choices import CandidateStatus, IdentifierKind
from customer_memory.identifiers import InvalidIdentifier, normalize_identifier
from customer_memory.identity.normalize import identifier_match_key
from customer_memory.models import Customer, Identifier, MatchCandidate, Merge, SuppressedIdentifier, Trait
from customer_memory.privacy_admin import PersonalDataAdminMixin
from customer_memory.services import (
    CandidateAlreadyDecided,
    MergeNotUndoable,
    match_candidate_accept,
    match_candidate_reject,
    merge_undo,
)
from interactions.models import Case, Interaction, Promise


class IdentifierInline(admin.TabularInline):
    """Read-only: identifiers change owner only through linking and recorded merges, and their values are
    stored normalized; a hand edit would bypass both."""

    model = Identifier
    extra = 0
    fields = ["kind", "value", "match_key", "verified", "source", "first_seen_at", "last_seen_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class TraitInline(admin.TabularInline):
    model = Trait
    extra = 0
    fields = ["name", "value", "source", "observed_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class CaseInline(admin.TabularInline):
    model = Case
    extra = 0
    fields = ["title", "status", "channel", "opened_at", "last_activity_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True
    ordering = ["-last_activity_at"]

    def has_add_permission(self, request, obj=None):
        return False


class PromiseInline(admin.TabularInline):
    model = Promise
    extra = 0
    fields = ["kind", "status", "due_at", "owner", "channel", "case", "kept_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class MergeInline(admin.TabularInline):
    """Customers merged into this one, with the reason and evidence (undo from the merge's own page)."""

    model = Merge
    fk_name = "survivor"
    verbose_name_plural = "merges into this customer"
    extra = 0
    fields = ["created_at", "merged", "reason", "evidence", "undone_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(PersonalDataAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "identifier_list", "customer_since", "first_seen_at", "last_seen_at", "merged_into"]
    list_filter = [("merged_into", admin.EmptyFieldListFilter), "language"]
    search_fields = ["name", "identifiers__value"]
    readonly_fields = ["id", "first_seen_at", "last_seen_at", "merged_into", "created_at", "recent_timeline"]
    fields = [
        "id",
        "name",
        "preferred_name",
        "language",
        "customer_since",
        "first_seen_at",
        "last_seen_at",
        "merged_into",
        "created_at",
        "recent_timeline",
    ]
    inlines = [IdentifierInline, TraitInline, CaseInline, PromiseInline, MergeInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("identifiers")

    def get_search_results(self, request, queryset, search_term):
        """Also find customers by an identifier written the way a caller would (e.g. "(415) 555-0100")."""
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        keys = set()
        for kind in (IdentifierKind.PHONE, IdentifierKind.EMAIL):
            try:
                keys.add(identifier_match_key(kind, normalize_identifier(kind, search_term)))
            except InvalidIdentifier:
                pass
        if keys:
            queryset |= self.model.objects.filter(identifiers__match_key__in=keys)
            may_have_duplicates = True
        return queryset, may_have_duplicates

    @admin.display(description="identifiers")
    def identifier_list(self, customer):
        return ", ".join(str(i) for i in customer.identifiers.all()[:4])

    @admin.display(description="recent timeline (latest 25, all channels)")
    def recent_timeline(self, customer):
        interactions = Interaction.objects.filter(customer=customer).select_related("agent", "case")[:25]
        if not interactions:
            return "no interactions yet"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    i.occurred_at.strftime("%Y-%m-%d %H:%M"),
                    i.channel,
                    i.direction,
                    i.summary[:200],
                    i.case or "",
                    i.agent or "",
                )
                for i in interactions
            ),
        )
        return format_html(
            "<table><tr><th>when</th><th>channel</th><th>direction</th><th>summary</th><th>case</th>"
            "<th>agent</th></tr>{}</table>",
            rows,
        )


@admin.register(Identifier)
class IdentifierAdmin(admin.ModelAdmin):
    list_display = ["kind", "value", "customer", "verified", "source", "last_seen_at"]
    list_filter = ["kind", "verified"]
    search_fields = ["value", "match_key"]
    readonly_fields = ["customer", "kind", "value", "match_key", "source", "first_seen_at", "last_seen_at"]

    def has_add_permission(self, request):
        return False


@admin.register(Merge)
class MergeAdmin(admin.ModelAdmin):
    """The merge history: what was merged into what, why and by whom; undo from the action menu."""

    list_display = ["created_at", "merged", "survivor", "reason", "rule", "score", "actor", "undone_at"]
    list_filter = ["reason", ("undone_at", admin.EmptyFieldListFilter)]
    search_fields = ["survivor__id", "merged__id", "rule"]
    readonly_fields = [
        "survivor",
        "merged",
        "reason",
        "rule",
        "score",
        "evidence",
        "actor",
        "raw_event",
        "moved",
        "created_at",
        "undone_at",
        "undone_by",
    ]
    actions = ["undo_merges"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Undo the selected merges (each customer gets its own rows back)")
    def undo_merges(self, request, queryset):
        undone = 0
        for merge in queryset.order_by("-created_at"):
            try:
                merge_undo(merge_id=merge.pk, actor=f"admin:{request.user.get_username()}")
                undone += 1
            except MergeNotUndoable as exc:
                self.message_user(request, str(exc), messages.WARNING)
        self.message_user(request, f"{undone} merge(s) undone.")


@admin.register(MatchCandidate)
class MatchCandidateAdmin(admin.ModelAdmin):
    """The review queue: pairs that may be one person. Accept merges them; reject keeps them apart for good."""

    list_display = ["created_at", "customer", "other", "reason", "score", "status", "decided_by"]
    list_filter = ["status", "reason"]
    readonly_fields = [
        "customer",
        "other",
        "reason",
        "score",
        "evidence",
        "status",
        "raw_event",
        "merge",
        "created_at",
        "decided_at",
        "decided_by",
        "settle_checked_at",
    ]
    actions = ["accept", "reject"]

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("customer", "other")

    @admin.action(description="Accept: these are one person (merge them)")
    def accept(self, request, queryset):
        self._decide(request, queryset, match_candidate_accept, "merged")

    @admin.action(description="Reject: these are two people (never propose again)")
    def reject(self, request, queryset):
        self._decide(request, queryset, match_candidate_reject, "rejected")

    def _decide(self, request, queryset, service, done):
        count = 0
        for candidate in queryset.filter(status=CandidateStatus.PENDING):
            try:
                service(candidate_id=candidate.pk, actor=f"admin:{request.user.get_username()}")
                count += 1
            except CandidateAlreadyDecided as exc:
                self.message_user(request, str(exc), messages.WARNING)
        self.message_user(request, f"{count} pair(s) {done}.")


@admin.register(SuppressedIdentifier)
class SuppressedIdentifierAdmin(admin.ModelAdmin):
    """Identifiers of erased customers, as keyed hashes only; events carrying them are dropped and counted."""

    list_display = ["kind", "digest", "created_at", "events_dropped", "last_dropped_at"]
    list_filter = ["kind"]
    readonly_fields = ["kind", "digest", "created_at", "events_dropped", "last_dropped_at"]

    def has_add_permission(self, request):
        return False
