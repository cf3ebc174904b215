from django.db import transaction

from api.models import ApiClient
from api.scopes import Scope


@transaction.atomic
def api_client_create(*, name: str, scopes: list[str]) -> tuple[ApiClient, str]:
    """Create a client (or give an existing one a new token and these scopes); return it and its token."""
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(Scope.values)}")
    client = ApiClient.objects.filter(name=name).first() or ApiClient(name=name)
    token = client.issue_token()
    client.scopes = sorted(set(scopes))
    client.is_active = True
    client.save()
    return client, token
