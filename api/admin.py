from django.contrib import admin

from api.models import ApiClient


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    """Tokens are created with `manage.py create_api_client`; here they can be revoked (is_active)."""

    list_display = ["name", "token_prefix", "scopes", "source", "is_active", "created_at"]
    list_filter = ["is_active"]
    readonly_fields = ["token_prefix", "created_at"]
    fields = ["name", "token_prefix", "scopes", "source", "twilio_auth_token", "is_active", "created_at"]

    def has_add_permission(self, request):
        return False
