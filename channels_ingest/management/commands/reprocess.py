from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from channels_ingest.choices import RawEventFormat, RawEventStatus
from channels_ingest.models import RawEvent
from channels_ingest.services import raw_event_reprocess


class Command(BaseCommand):
    help = (
        "Send stored raw events through normalize and link again, once the cause of their failure is fixed. "
        "Default: every failed event. Processed events are updated in place, never doubled."
    )

    def add_arguments(self, parser):
        parser.add_argument("ids", nargs="*", metavar="ID", help="raw event ids (default: select by the options)")
        parser.add_argument(
            "--status",
            nargs="+",
            choices=RawEventStatus.values,
            default=[RawEventStatus.FAILED],
            help="statuses to select (default: failed)",
        )
        parser.add_argument("--source", help="only events from this source")
        parser.add_argument("--format", choices=RawEventFormat.values, help="only events of this wire format")
        parser.add_argument("--since", help="only events received at or after this ISO 8601 date-time")
        parser.add_argument("--dry-run", action="store_true", help="count the events, change nothing")

    def handle(self, *args, ids, status, source=None, format=None, since=None, dry_run=False, **options):
        events = RawEvent.objects.filter(id__in=ids) if ids else RawEvent.objects.filter(status__in=status)
        if source:
            events = events.filter(source=source)
        if format:
            events = events.filter(format=format)
        if since:
            moment = parse_datetime(since)
            if moment is None:
                raise CommandError(f"--since: {since!r} is not an ISO 8601 date-time")
            events = events.filter(received_at__gte=moment)
        selected = list(events.values_list("id", flat=True))
        if dry_run:
            self.stdout.write(f"{len(selected)} event(s) would be reprocessed.")
            return
        count = raw_event_reprocess(raw_event_ids=selected) if selected else 0
        self.stdout.write(f"{count} event(s) queued for processing again.")
