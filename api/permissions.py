from rest_framework import permissions


class HasScope(permissions.BasePermission):
    """Allows an authenticated API client whose scopes include the view's `required_scope`.

    Views name their scope (`required_scope = Scope.CARD_READ`), or a tuple of scopes any one of which will
    do; a view that names none is refused, so a new endpoint cannot be left open by accident.
    """

    message = "This API client lacks the scope this endpoint requires."

    def has_permission(self, request, view):
        client = request.auth
        if client is None:
            return False
        scope = getattr(view, "required_scope", None)
        if scope is None:
            return False
        # str(): the repr of a Scope member is "Scope.INGEST", not the name a client is configured with.
        if isinstance(scope, tuple):
            named = ", ".join(repr(str(one)) for one in scope)
            self.message = f"This API client lacks a scope this endpoint requires (one of {named})."
            return any(client.has_scope(one) for one in scope)
        self.message = f"This API client lacks the {str(scope)!r} scope."
        return client.has_scope(scope)


class IsApiClientOrStaff(permissions.BasePermission):
    """The OpenAPI schema and its docs: any API client, or staff logged in to the admin (for the browser)."""

    def has_permission(self, request, view):
        if request.auth is not None:
            return True
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff)
