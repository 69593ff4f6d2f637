from django.core.management.base import BaseCommand

from leads import stream


class Command(BaseCommand):
    help = "Process pending activities (what the periodic sweeper does), for cron users."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=10_000)

    def handle(self, *args, limit: int, **options) -> None:
        self.stdout.write(f"processed {stream.sweep(limit=limit)}")
