from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from api.models import ApiClient, token_digest


def client_for_token(token: str) -> ApiClient:
    client = ApiClient.objects.filter(token_digest=token_digest(token)).first()
    if client is None or not client.is_active:
        raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
    return client


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>` of an API client."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header: expected 'Bearer <token>'."))
        try:
            token = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token characters.")) from None
        client = client_for_token(token)
        return client, client

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Describes BearerTokenAuthentication in the OpenAPI schema, so generated clients send the token."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The token `manage.py create_api_client` printed: `Authorization: Bearer <token>`.",
        }
