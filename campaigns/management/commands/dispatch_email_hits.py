from django.core.management.base import BaseCommand

from campaigns import events


class Command(BaseCommand):
    help = "Hand recorded email opens and clicks to scoring and the other consumers (what the periodic job does)."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"dispatched {events.dispatch_hits()}")
