from django.core.management.base import BaseCommand

from sales import digest


class Command(BaseCommand):
    help = "Email each owner today's digest of new hot leads (once per owner and day; safe to run again)."

    def handle(self, *args, **options) -> None:
        sent = digest.send_digests()
        self.stdout.write(f"{sent} digest(s) sent")
