from django.core.management.base import BaseCommand, CommandError

from campaigns import sending
from campaigns.models import Campaign


class Command(BaseCommand):
    help = "Start sending a draft or scheduled campaign now (the admin's 'Send now')."

    def add_arguments(self, parser) -> None:
        parser.add_argument("campaign_id", type=int)

    def handle(self, *args, campaign_id: int, **options) -> None:
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        if campaign is None:
            raise CommandError(f"no campaign {campaign_id}")
        try:
            count = sending.start(campaign=campaign)
        except sending.SendingError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{count} recipients" if count else "not started: the campaign is not a draft or scheduled")
