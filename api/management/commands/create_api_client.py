from django.core.management.base import BaseCommand, CommandError

from api.scopes import Scope
from api.services import api_client_create


class Command(BaseCommand):
    help = "Create an API client (or rotate its token) and print the token as the last line."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--scope",
            nargs="+",
            required=True,
            dest="scopes",
            metavar="SCOPE",
            help=f"one or more of: {', '.join(Scope.values)}",
        )
        parser.add_argument("--source", help="source name for events it sends to channel endpoints (default: NAME)")
        parser.add_argument(
            "--twilio-auth-token",
            metavar="TOKEN",
            help="the Twilio account's auth token: Twilio callbacks must then carry a valid X-Twilio-Signature",
        )

    def handle(self, *args, name, scopes, source=None, twilio_auth_token=None, **options):
        try:
            client, token = api_client_create(
                name=name, scopes=scopes, source=source, twilio_auth_token=twilio_auth_token
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"API client {client.name!r} with scopes {', '.join(client.scopes)}. Token (shown once):")
        self.stdout.write(token)
