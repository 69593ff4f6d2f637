from django.core.management.base import BaseCommand

from sales import webhooks


class Command(BaseCommand):
    help = "Queue CRM webhook deliveries whose dispatch or retry was lost (the broker was down)."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"{webhooks.resend_stalled()} delivery(ies) queued")
