"""Browser-only middleware: sessions, CSRF, the logged-in user and messages for the admin, the desk and the API
docs, and not for `/api/v1/`.

Every `/api/v1/` endpoint authenticates a Bearer (or Basic) token and reads nothing of a session: running the
session, CSRF, authentication and message middleware there costs more per request than a warm card does, for
nothing. Each class here is Django's own, run unchanged for every other path. (The API docs and the schema,
under `/api/` but not `/api/v1/`, open for staff logged in to the admin, so they keep them.)
"""

from django.contrib.auth.middleware import AuthenticationMiddleware as _AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware as _MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as _SessionMiddleware
from django.middleware.csrf import CsrfViewMiddleware as _CsrfViewMiddleware

API_PREFIX = "/api/v1/"


def _browser_only(middleware_class):
    """A subclass of `middleware_class` (so Django's checks still find it) that passes requests for paths under
    API_PREFIX straight on."""

    class BrowserOnly(middleware_class):
        def __call__(self, request):
            if request.path_info.startswith(API_PREFIX):
                return self.get_response(request)
            return super().__call__(request)

        if hasattr(middleware_class, "process_view"):
            # Django calls process_view itself, outside __call__ (CSRF checks there).
            def process_view(self, request, view, args, kwargs):
                if request.path_info.startswith(API_PREFIX):
                    return None
                return super().process_view(request, view, args, kwargs)

    BrowserOnly.__name__ = BrowserOnly.__qualname__ = middleware_class.__name__
    BrowserOnly.__doc__ = f"{middleware_class.__module__}.{middleware_class.__name__}, except under {API_PREFIX}."
    return BrowserOnly


SessionMiddleware = _browser_only(_SessionMiddleware)
CsrfViewMiddleware = _browser_only(_CsrfViewMiddleware)
AuthenticationMiddleware = _browser_only(_AuthenticationMiddleware)
MessageMiddleware = _browser_only(_MessageMiddleware)
