from django.core.management.base import BaseCommand

from landing import followups, ingesting


class Command(BaseCommand):
    help = (
        "Make the leads of form submissions still pending and send the follow-up emails still due "
        "(what the periodic sweeper does), for cron users."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=10_000)

    def handle(self, *args, limit: int, **options) -> None:
        ingested = ingesting.ingest_pending(older_than=ingesting.SWEEP_AFTER, limit=limit)
        self.stdout.write(f"ingested {ingested}, sent {followups.sweep(limit=limit)}")
