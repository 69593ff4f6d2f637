from datetime import timedelta

from django.core.management.base import BaseCommand

from campaigns import sending


class Command(BaseCommand):
    help = (
        "Resolve sends claimed by workers that died (claimed: sent again; handed to an ESP: marked for review), "
        "record their email_sent activities and restart quiet campaigns (what the periodic task does)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than", type=int, default=None, help="seconds a claim may be old (default: SEND_CLAIM_TIMEOUT)"
        )

    def handle(self, *args, older_than: int | None = None, **options) -> None:
        result = sending.recover(older_than=timedelta(seconds=older_than) if older_than is not None else None)
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in result.items()))
