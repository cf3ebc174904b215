from django.contrib import admin, messages

from channels_ingest.models import RawEvent
from channels_ingest.services import raw_event_reprocess


@admin.register(RawEvent)
class RawEventAdmin(admin.ModelAdmin):
    list_display = ["received_at", "source", "external_id", "format", "status", "attempts", "short_error"]
    list_filter = ["status", "format", "source"]
    search_fields = ["external_id", "source", "error"]
    readonly_fields = [
        "id",
        "source",
        "external_id",
        "format",
        "payload",
        "status",
        "error",
        "attempts",
        "normalized",
        "customer",
        "interaction",
        "received_at",
        "updated_at",
        "processed_at",
    ]
    actions = ["reprocess"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="error")
    def short_error(self, raw_event):
        return raw_event.error[:120]

    @admin.action(description="Reprocess the selected events (normalize and link again; retries dead ones)")
    def reprocess(self, request, queryset):
        count = raw_event_reprocess(raw_event_ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"{count} event(s) queued for processing again.", messages.SUCCESS)
