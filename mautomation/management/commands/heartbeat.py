from django.core.management.base import BaseCommand

from mautomation import health


class Command(BaseCommand):
    help = "Record a worker heartbeat (what the periodic task does), for cron users."

    def handle(self, *args, **options) -> None:
        health.record_heartbeat()
