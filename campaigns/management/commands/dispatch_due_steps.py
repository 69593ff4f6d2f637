from django.core.management.base import BaseCommand

from campaigns import automation


class Command(BaseCommand):
    help = "Send due step emails and trigger actions, and enroll new list/segment members (cron: every minute)."

    def handle(self, *args, **options) -> None:
        result = automation.run_due()
        self.stdout.write(" ".join(f"{key}={value}" for key, value in result.items()))
