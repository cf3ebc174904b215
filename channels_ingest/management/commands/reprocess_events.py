from django.core.management.base import BaseCommand

from channels_ingest.choices import RawEventStatus
from channels_ingest.models import RawEvent
from channels_ingest.services import raw_event_reprocess


class Command(BaseCommand):
    help = (
        "Send dead (or failed) raw events back through normalize and link, once their cause is fixed. "
        "Prints how many were queued."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--status",
            action="append",
            choices=[RawEventStatus.DEAD, RawEventStatus.FAILED],
            help="Which events (repeat for both). Default: dead.",
        )
        parser.add_argument("--source", help="Only events from this source.")
        parser.add_argument("--dry-run", action="store_true", help="Count them, queue nothing.")

    def handle(self, *args, status=None, source=None, dry_run=False, **options):
        events = RawEvent.objects.filter(status__in=status or [RawEventStatus.DEAD])
        if source:
            events = events.filter(source=source)
        ids = list(events.values_list("id", flat=True))
        if dry_run:
            self.stdout.write(f"{len(ids)} event(s) would be queued")
            return
        queued = sum(raw_event_reprocess(raw_event_ids=ids[i : i + 1000]) for i in range(0, len(ids), 1000))
        self.stdout.write(f"{queued} event(s) queued for processing again")
