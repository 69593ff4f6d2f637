from django.core.management.base import BaseCommand

from campaigns import sending


class Command(BaseCommand):
    help = "Start the scheduled campaigns whose time has come (what the periodic task does)."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"{sending.start_due()} campaign(s) started")
