from django.contrib import admin

from api import access_log
from api.models import AccessLog, ApiClient


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    """Tokens are created with `manage.py create_api_client`; here they can be revoked (is_active)."""

    list_display = ["name", "token_prefix", "scopes", "source", "is_active", "created_at"]
    list_filter = ["is_active"]
    readonly_fields = ["token_prefix", "created_at"]
    fields = ["name", "token_prefix", "scopes", "source", "twilio_auth_token", "is_active", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    """Who read which customer. Read-only: entries are written by the views and removed only by an erasure."""

    list_display = ["at", "action", "customer_id", "client", "user", "ip", "request_id"]
    list_filter = ["action", "client", ("user", admin.RelatedOnlyFieldListFilter), "at"]
    search_fields = ["customer_id", "request_id"]
    date_hierarchy = "at"
    list_select_related = ["client", "user"]

    def changelist_view(self, request, extra_context=None):
        access_log.flush()  # card reads still buffered in Redis: the analyst sees every read up to now
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
