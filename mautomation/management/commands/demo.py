from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mautomation.demo import USERS, load_demo


class Command(BaseCommand):
    help = "Load demo data (users, leads with activity, rules, a campaign, a form and a page). Safe to run twice."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--leads", type=int, default=300)

    def handle(self, *args, leads: int, **options) -> None:
        if settings.PRODUCTION:
            raise CommandError("The demo data has well-known passwords; it is refused with DJANGO_ENV=production.")
        if not 0 <= leads <= 100_000:
            raise CommandError("--leads must be between 0 and 100000.")
        summary = load_demo(leads=leads)
        self.stdout.write(
            f"demo: users created {summary.users_created}, leads created {summary.leads_created}, "
            f"activities created {summary.activities_created}"
        )
        self.stdout.write("logins (username / password): " + ", ".join(f"{name} / {name}" for name in USERS))
