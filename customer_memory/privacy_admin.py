"""The admin's side of personal data: who opened a customer's page, and export / erase as actions."""

import json

from django.contrib import admin, messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.template.response import TemplateResponse

from api import access_log
from api.choices import AccessAction
from customer_memory.privacy import customer_erase, customer_export


class PersonalDataAdminMixin:
    """For the customer admin: logs each customer page opened, and offers export and erasure.

    Erasure asks for confirmation on a page of its own, as Django's delete action does.
    """

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        customer = getattr(response, "context_data", {}).get("original") if response.status_code == 200 else None
        if customer is not None:
            access_log.record(request, customer, AccessAction.ADMIN)
        return response

    def get_actions(self, request):
        actions = super().get_actions(request)
        for action in (export_personal_data, erase_personal_data, erase_and_suppress):
            actions[action.__name__] = (action, action.__name__, action.short_description)
        return actions


@admin.action(description="Export the selected customers' personal data (JSON)")
def export_personal_data(modeladmin, request, queryset):
    exports = []
    for customer in queryset:
        exports.append(customer_export(customer=customer))
        access_log.record(request, customer, AccessAction.EXPORT)
    response = HttpResponse(json.dumps(exports, cls=DjangoJSONEncoder, indent=2), content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="customer-export.json"'
    return response


def _erase(modeladmin, request, queryset, *, suppress: bool):
    if request.POST.get("confirmed") != "yes":
        return TemplateResponse(
            request,
            "admin/customer_memory/customer/erase_confirmation.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": "Erase personal data",
                "customers": list(queryset),
                "suppress": suppress,
                "action": "erase_and_suppress" if suppress else "erase_personal_data",
                "opts": modeladmin.model._meta,
            },
        )
    erased = set()
    for customer in queryset:
        if customer.pk in erased:  # already erased as part of a person selected earlier
            continue
        erasure = customer_erase(customer=customer, suppress=suppress)
        erased.update(erasure.ids)
        access_log.record(request, erasure.customer_id, AccessAction.ERASE)
    modeladmin.message_user(
        request,
        f"Erased {len(erased)} customer record(s)" + (", their identifiers suppressed." if suppress else "."),
        messages.SUCCESS,
    )
    return None


@admin.action(description="Erase the selected customers' personal data")
def erase_personal_data(modeladmin, request, queryset):
    return _erase(modeladmin, request, queryset, suppress=False)


@admin.action(description="Erase the selected customers and suppress their identifiers")
def erase_and_suppress(modeladmin, request, queryset):
    return _erase(modeladmin, request, queryset, suppress=True)
