from django.core.management.base import BaseCommand

from reports import rollup


class Command(BaseCommand):
    help = "Recompute the report counts from the activity table (after a bulk load, a merge or a restore)."

    def handle(self, *args, **options) -> None:
        sizes = rollup.rebuild()
        self.stdout.write(", ".join(f"{name} {size}" for name, size in sizes.items()))
