"""The card's lean request path: DRF's guarantees without DRF's per-request machinery.

A DRF request wraps the HttpRequest, negotiates content, runs authentication, permission and throttle classes
and renders through a Response; for a card that is served from the cache that machinery costs several times
what the card itself does. `LeanApiView` keeps the same checks, with the same classes and messages — Bearer
token (BearerTokenAuthentication), scope (HasScope), per-client budget (ApiClientRateThrottle) — and the same
error answers (api.exceptions), and renders JSON with orjson. It stays an APIView so that drf-spectacular
documents its `get` like any other endpoint. Only GET and HEAD take the lean path; other methods get DRF's
(405, OPTIONS).
"""

import orjson
from django.http import HttpResponse
from rest_framework import exceptions
from rest_framework.views import APIView

from api.authentication import BearerTokenAuthentication
from api.exceptions import exception_handler
from api.permissions import HasScope
from api.renderers import JSON_OR_TEXT
from api.throttling import ApiClientRateThrottle

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"


def wants_text(request) -> bool:
    """`?format=text`, or an Accept header asking for text/plain and not JSON (DRF's negotiation, in short)."""
    chosen = request.GET.get("format")
    if chosen:
        if chosen not in ("json", "text"):
            raise exceptions.NotFound(f"no format {chosen!r}: json or text")
        return chosen == "text"
    accept = request.META.get("HTTP_ACCEPT", "")
    if not accept or "json" in accept or "*/*" in accept:
        return False
    if "text/plain" in accept or "text/*" in accept:
        return True
    raise exceptions.NotAcceptable()


class LeanApiView(APIView):
    """An APIView whose GET runs `get(request, **kwargs)` on the bare HttpRequest, with `request.auth` set to
    the authenticated, scoped and counted API client; `get` returns a dict (JSON) or a str (text). Errors are
    DRF exceptions, answered as api.exceptions answers them."""

    renderer_classes = JSON_OR_TEXT
    # True: `get` counts the request against the client's budget itself (the card, in its Redis round trip).
    counts_itself = False
    # Stateless, so shared; HasScope keeps its message on the instance, so it is made per request.
    _authentication = BearerTokenAuthentication()
    _throttle = ApiClientRateThrottle()

    def dispatch(self, request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return super().dispatch(request, *args, **kwargs)
        self.args, self.kwargs, self.request = args, kwargs, request
        text = False
        try:
            text = wants_text(request)
            self._admit(request)
            answer = self.get(request, *args, **kwargs)
        except Exception as exc:
            return self._error(exc, text)
        if text:
            return HttpResponse(answer.encode() if isinstance(answer, str) else orjson.dumps(answer), content_type=TEXT)
        return HttpResponse(orjson.dumps(answer), content_type=JSON)

    def _admit(self, request) -> None:
        """Authenticate, check the scope and count the request, in DRF's order; raises what DRF would."""
        found = self._authentication.authenticate(request)
        if found is None:
            raise exceptions.NotAuthenticated()
        request.user, request.auth = found
        permission = HasScope()
        if not permission.has_permission(request, self):
            raise exceptions.PermissionDenied(permission.message)
        if not self.counts_itself:
            self._throttle.allow_request(request, self)

    def _error(self, exc, text: bool) -> HttpResponse:
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            exc.auth_header = self._authentication.authenticate_header(self.request)
        answer = exception_handler(exc, {"view": self, "request": self.request})
        if answer is None:
            raise exc
        if text:
            detail = answer.data.get("detail", "") if isinstance(answer.data, dict) else answer.data
            response = HttpResponse(f"{detail}\n".encode(), status=answer.status_code)
            response["Content-Type"] = TEXT
        else:
            response = HttpResponse(orjson.dumps(answer.data), status=answer.status_code, content_type=JSON)
        for name, value in answer.headers.items():
            if name.lower() != "content-type":
                response[name] = value
        return response
