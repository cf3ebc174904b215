from django.contrib import admin
from django.db.models import Q
from django.utils import timezone
from django.utils.html import format_html

from customer_memory.card_cache import card_changed
from interactions.choices import PromiseStatus
from interactions.models import Agent, Case, Handover, Interaction, Promise


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "channel", "direction", "customer", "summary", "case", "agent"]
    list_filter = ["channel", "direction"]
    search_fields = ["summary", "external_id", "customer__identifiers__value"]
    raw_id_fields = ["customer", "case", "agent", "raw_event"]
    date_hierarchy = "occurred_at"
    list_select_related = ["customer", "case", "agent"]


class HandoverInline(admin.TabularInline):
    model = Handover
    extra = 0
    fields = ["created_at", "from_agent", "to_agent", "note"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "customer", "channel", "opened_at", "last_activity_at"]
    list_filter = ["status", "channel"]
    search_fields = ["title", "external_id"]
    raw_id_fields = ["customer"]
    list_select_related = ["customer"]
    inlines = [HandoverInline]


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["name", "source", "external_id", "started_at", "is_active"]
    list_filter = ["is_active", "source"]
    search_fields = ["name", "external_id"]


class OverdueFilter(admin.SimpleListFilter):
    """Outstanding and past due now — whether or not the periodic task has marked it yet."""

    title = "overdue now"
    parameter_name = "overdue_now"

    def lookups(self, request, model_admin):
        return [("yes", "Overdue"), ("no", "Not overdue")]

    def queryset(self, request, queryset):
        overdue = Q(status__in=PromiseStatus.outstanding(), due_at__lt=timezone.now())
        if self.value() == "yes":
            return queryset.filter(overdue)
        if self.value() == "no":
            return queryset.exclude(overdue)
        return queryset


@admin.register(Promise)
class PromiseAdmin(admin.ModelAdmin):
    """The supervisors' list: filter on "overdue now" to see every callback and follow-up that is late."""

    list_display = ["due_at", "overdue_flag", "kind", "status", "customer", "owner", "channel", "case"]
    list_filter = [OverdueFilter, "status", "kind", "channel", "owner"]
    search_fields = ["note", "customer__name", "customer__identifiers__value", "owner__name"]
    raw_id_fields = ["customer", "case", "owner", "kept_by"]
    list_select_related = ["customer", "owner", "case"]
    date_hierarchy = "due_at"
    actions = ["mark_kept", "cancel"]

    @admin.display(description="overdue", boolean=False)
    def overdue_flag(self, promise):
        if promise.is_overdue(timezone.now()):
            return format_html('<strong style="color:#c0392b">{}</strong>', "OVERDUE")
        return ""

    def _set_status(self, request, queryset, status):
        rows = list(queryset.filter(status__in=PromiseStatus.outstanding()).values_list("pk", "customer_id"))
        queryset.filter(pk__in=[pk for pk, _ in rows]).update(
            status=status, kept_at=timezone.now() if status == PromiseStatus.KEPT else None, updated_at=timezone.now()
        )
        card_changed({customer_id for _, customer_id in rows})
        self.message_user(request, f"{len(rows)} promise(s) marked {status}.")

    @admin.action(description="Mark selected promises kept")
    def mark_kept(self, request, queryset):
        self._set_status(request, queryset, PromiseStatus.KEPT)

    @admin.action(description="Cancel selected promises")
    def cancel(self, request, queryset):
        self._set_status(request, queryset, PromiseStatus.CANCELLED)


@admin.register(Handover)
class HandoverAdmin(admin.ModelAdmin):
    list_display = ["created_at", "case", "from_agent", "to_agent", "note"]
    search_fields = ["note", "case__title"]
    raw_id_fields = ["case", "from_agent", "to_agent"]
    list_select_related = ["case", "from_agent", "to_agent"]
    readonly_fields = ["case", "from_agent", "to_agent", "note", "script", "created_at"]

    def has_add_permission(self, request):
        return False
