"""The desk's views: thin, calling the same card, timeline and services as the API."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header

from api.authentication import client_for_token
from api.scopes import Scope
from customer_memory.card_cache import card_for_customer_id, card_for_identifiers
from customer_memory.desk.forms import HandoverForm, PromiseForm
from customer_memory.selectors import LOOKUP_PARAMETERS, customer_by_id
from interactions.choices import Channel
from interactions.selectors import interaction_timeline
from interactions.services import handover_create, promise_create

TIMELINE_LENGTH = 20


def desk_access(view):
    """Staff logged in to Django, or (for reading) an API client's Bearer token with card:read."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.user.is_authenticated and request.user.is_staff:
            return view(request, *args, **kwargs)
        header = get_authorization_header(request).split()
        if request.method == "GET" and len(header) == 2 and header[0].lower() == b"bearer":
            try:
                client = client_for_token(header[1].decode())
            except (exceptions.AuthenticationFailed, UnicodeError):
                return HttpResponse("Invalid or revoked token.", status=401, content_type="text/plain")
            if client.has_scope(Scope.CARD_READ):
                return view(request, *args, **kwargs)
            return HttpResponse("This API client lacks the 'card:read' scope.", status=403, content_type="text/plain")
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))

    return wrapped


@require_GET
@desk_access
def desk(request):
    return _desk_page(request)


def _desk_page(request, *, handover_form=None, promise_form=None, status=200):
    channel = request.GET.get("channel") if request.GET.get("channel") in Channel.values else None
    lookups = [(kind, request.GET[name]) for name, kind in LOOKUP_PARAMETERS.items() if request.GET.get(name)]
    card, customer = None, None
    customer_id = request.GET.get("customer") or request.POST.get("customer")
    if customer_id:
        card = card_for_customer_id(customer_id, channel=channel)
    elif lookups:
        card = card_for_identifiers(lookups, channel=channel)
    if card and card["known"]:
        customer = customer_by_id(card["customer"]["id"])
    context = {
        "card": card,
        "lookup_kinds": list(LOOKUP_PARAMETERS),
        "lookup_kind": lookups[0][0] if lookups else "phone",
        "lookup_value": lookups[0][1] if lookups else "",
        "customer_param": customer_id or "",
    }
    if customer:
        initial = {"customer": customer.pk}
        context.update(
            timeline=interaction_timeline(customer).order_by("-occurred_at", "-id")[:TIMELINE_LENGTH],
            handover_form=handover_form or HandoverForm(customer=customer, initial=initial),
            promise_form=promise_form or PromiseForm(customer=customer, initial=initial),
        )
    return render(request, "desk/desk.html", context, status=status)


def _customer_of_post(request):
    return customer_by_id(request.POST.get("customer", ""))


@require_POST
@desk_access
def desk_handover(request):
    customer = _customer_of_post(request)
    form = HandoverForm(request.POST, customer=customer)
    if customer is None or not form.is_valid():
        return _desk_page(request, handover_form=form, status=400)
    data = form.cleaned_data
    handover = handover_create(
        case=data["case"], from_agent=data["from_agent"], to_agent=data["to_agent"], note=data["note"]
    )
    messages.success(request, f"Handed over to {handover.to_agent.name}. Say: {handover.script}")
    return redirect(f"{reverse('desk')}?customer={customer.pk}")


@require_POST
@desk_access
def desk_promise(request):
    customer = _customer_of_post(request)
    form = PromiseForm(request.POST, customer=customer)
    if customer is None or not form.is_valid():
        return _desk_page(request, promise_form=form, status=400)
    data = form.cleaned_data
    promise = promise_create(
        customer=customer,
        case=data["case"],
        owner=data["owner"],
        kind=data["kind"],
        due_at=data["due_at"],
        channel=data["channel"],
        note=data["note"],
    )
    messages.success(request, f"{promise.get_kind_display()} promised for {promise.due_at:%Y-%m-%d %H:%M} UTC.")
    return redirect(f"{reverse('desk')}?customer={customer.pk}")
