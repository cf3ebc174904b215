from django.contrib import admin

from interactions.models import Agent, Case, Interaction


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "channel", "direction", "customer", "summary", "case", "agent"]
    list_filter = ["channel", "direction"]
    search_fields = ["summary", "external_id", "customer__identifiers__value"]
    raw_id_fields = ["customer", "case", "agent", "raw_event"]
    date_hierarchy = "occurred_at"
    list_select_related = ["customer", "case", "agent"]


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "customer", "channel", "opened_at", "last_activity_at"]
    list_filter = ["status", "channel"]
    search_fields = ["title", "external_id"]
    raw_id_fields = ["customer"]
    list_select_related = ["customer"]


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["name", "source", "external_id"]
    search_fields = ["name", "external_id"]
