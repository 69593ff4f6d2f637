from datetime import timedelta

from django.core.management.base import BaseCommand

from leads.tasks import start_pending


class Command(BaseCommand):
    help = "Start uploaded imports still waiting for a worker (what the periodic task does), for cron users."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"started {start_pending(older_than=timedelta(minutes=2))}")
