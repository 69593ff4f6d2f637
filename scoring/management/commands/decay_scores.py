from django.core.management.base import BaseCommand

from scoring.decay import apply_decay


class Command(BaseCommand):
    help = "Apply the configured score decay (what the periodic task does), for cron users."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"decay rows added {apply_decay()}")
