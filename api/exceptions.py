import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DataError, InterfaceError, OperationalError
from django.http import JsonResponse
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)


def exception_handler(exc, context):
    """DRF's handler, plus a one-line `detail` on validation errors so a sender reads the reason at once."""
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": f"request body larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes; send smaller batches"},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DataError):
        # A value no column can hold or be compared with (a NUL character in a lookup, say): bad input.
        set_rollback()
        return Response({"detail": f"a value in the request cannot be used: {exc}"}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, OperationalError | InterfaceError):
        # The database is unreachable (down, restarting, connections cut) or gave up on the transaction:
        # nothing was stored, and a sender that retries later loses nothing, so say so instead of a 500.
        logger.warning("database unavailable: %s", exc)
        set_rollback()
        return Response(
            {"detail": "the database is unavailable; nothing was stored, retry later"},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(settings.DATABASE_UNAVAILABLE_RETRY_AFTER)},
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict | list) and "detail" not in response.data:
        response.data = {"detail": _first_message(response.data), "errors": response.data}
    return response


def _first_message(errors, path="") -> str:
    if isinstance(errors, dict):
        for key, value in errors.items():
            return _first_message(value, f"{path}.{key}" if path else str(key))
    if isinstance(errors, list) and errors:
        if all(isinstance(item, str) for item in errors):
            return f"{path}: {errors[0]}" if path else str(errors[0])
        for index, item in enumerate(errors):
            if item:
                return _first_message(item, f"{path}[{index}]" if path else f"[{index}]")
    return "invalid request"


def not_found(request, exception=None):
    """404 for paths that match no route: JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": f"no such endpoint: {request.path}"}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)
