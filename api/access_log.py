"""Recording who read which customer: one INSERT per request that shows a customer's data."""

import ipaddress
import re
import uuid

from api.choices import AccessAction
from api.models import AccessLog, ApiClient

# A caller's request id is echoed into the log only when it looks like one (no free text, no markup).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def request_id(request) -> str:
    """The caller's X-Request-ID when it is a plausible id, else a new one."""
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


def client_ip(request) -> str | None:
    """REMOTE_ADDR: behind a proxy, configure the proxy (or gunicorn's forwarded_allow_ips) to set it."""
    address = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def record(request, customer, action: AccessAction) -> AccessLog:
    """Log that the caller of `request` saw `customer` (a Customer or its id).

    Works for DRF requests (the API client is request.auth) and admin requests (a staff user). Written in
    the request's own connection and transaction: if the log cannot be written, the read fails with it.
    """
    client = getattr(request, "auth", None)
    user = getattr(request, "user", None)
    return AccessLog.objects.create(
        customer_id=getattr(customer, "pk", customer),
        action=action,
        client=client if isinstance(client, ApiClient) else None,
        user=user if user is not None and getattr(user, "is_staff", False) else None,
        request_id=request_id(request),
        ip=client_ip(request),
    )
