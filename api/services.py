from django.db import transaction

from api.models import ApiClient
from api.scopes import Scope


@transaction.atomic
def api_client_create(
    *, name: str, scopes: list[str], source: str | None = None, twilio_auth_token: str | None = None
) -> tuple[ApiClient, str]:
    """Create a client (or give an existing one a new token and these scopes); return it and its token.

    `source` and `twilio_auth_token` are set when given (an empty string clears them), kept otherwise."""
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(Scope.values)}")
    client = ApiClient.objects.filter(name=name).first() or ApiClient(name=name)
    token = client.issue_token()
    client.scopes = sorted(set(scopes))
    client.is_active = True
    if source is not None:
        client.source = source.strip()
    if twilio_auth_token is not None:
        client.twilio_auth_token = twilio_auth_token.strip()
    client.save()
    return client, token
