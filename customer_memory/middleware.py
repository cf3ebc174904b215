"""Browser-only middleware: sessions, the logged-in user and messages for the admin, the desk and the API docs,
and not for `/api/v1/`.

Every `/api/v1/` endpoint authenticates a Bearer (or Basic) token and reads nothing of a session: running the
session, authentication and message middleware there costs a good part of a warm card's time, for nothing.
Each class here is Django's own, run unchanged for every other path. (The API docs and the schema, under
`/api/` but not `/api/v1/`, open for staff logged in to the admin, so they keep them.) CSRF stays Django's
own middleware in settings: `check --deploy` looks for it by name, and the API's views are csrf_exempt.
"""

from django.contrib.auth.middleware import AuthenticationMiddleware as _AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware as _MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as _SessionMiddleware

API_PREFIX = "/api/v1/"


def _browser_only(middleware_class):
    """A subclass of `middleware_class` (so Django's checks still find it) that passes requests for paths under
    API_PREFIX straight on. For middleware without process_view (Django calls that outside __call__)."""

    class BrowserOnly(middleware_class):
        def __call__(self, request):
            if request.path_info.startswith(API_PREFIX):
                return self.get_response(request)
            return super().__call__(request)

    BrowserOnly.__name__ = BrowserOnly.__qualname__ = middleware_class.__name__
    BrowserOnly.__doc__ = f"{middleware_class.__module__}.{middleware_class.__name__}, except under {API_PREFIX}."
    return BrowserOnly


SessionMiddleware = _browser_only(_SessionMiddleware)
AuthenticationMiddleware = _browser_only(_AuthenticationMiddleware)
MessageMiddleware = _browser_only(_MessageMiddleware)
