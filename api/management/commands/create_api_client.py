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

    def handle(self, *args, name, scopes, **options):
        try:
            client, token = api_client_create(name=name, scopes=scopes)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"API client {client.name!r} with scopes {', '.join(client.scopes)}. Token (shown once):")
        self.stdout.write(token)
