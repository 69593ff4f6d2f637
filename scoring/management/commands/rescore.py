from django.core.management.base import BaseCommand

from scoring.rescore import rescore


class Command(BaseCommand):
    help = "Recompute every lead's score from the activity stream with the current rules."

    def handle(self, *args, **options) -> None:
        result = rescore()
        self.stdout.write(f"ledger rows {result.entries}, leads {result.leads}, newly hot {result.newly_hot}")
