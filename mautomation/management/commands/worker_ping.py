import time
import uuid

from celery.exceptions import TimeoutError as CeleryTimeout
from django.core.management.base import BaseCommand, CommandError

from mautomation.tasks import ping


class Command(BaseCommand):
    help = "Send a ping task through the broker and wait for a worker's answer."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--timeout", type=float, default=10.0)

    def handle(self, *args, timeout: float, **options) -> None:
        nonce = uuid.uuid4().hex
        started = time.monotonic()
        try:
            answer = ping.delay(nonce).get(timeout=timeout)
        except CeleryTimeout:
            raise CommandError(
                f"No worker answered within {timeout:g} s: is `celery -A mautomation worker` running?"
            ) from None
        except Exception as exc:  # broker down, result backend down
            raise CommandError(f"The ping could not be sent or read back: {exc}") from None
        if answer != nonce:
            raise CommandError(f"The worker answered {answer!r} instead of {nonce!r}.")
        self.stdout.write(f"worker answered in {(time.monotonic() - started) * 1000:.0f} ms")
