from django.core.management.base import BaseCommand

from landing import followups


class Command(BaseCommand):
    help = "Send form follow-up emails still due (what the periodic sweeper does), for cron users."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=10_000)

    def handle(self, *args, limit: int, **options) -> None:
        self.stdout.write(f"sent {followups.sweep(limit=limit)}")
