import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from mautomation.demo import USERS


class Command(BaseCommand):
    help = (
        "Run the whole product on one machine: migrate, load the demo data, start a Celery worker "
        "with its scheduler (beat) in the background, and serve the web UI."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-demo", action="store_true", help="Do not load the demo data.")
        parser.add_argument("--no-worker", action="store_true", help="Serve the web UI only.")

    def handle(self, *args, addrport: str, no_demo: bool, no_worker: bool, **options) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "`run` is for one machine; in production run gunicorn, celery worker and celery beat (see README)."
            )
        call_command("migrate", interactive=False, verbosity=0)
        if not no_demo:
            call_command("demo")
        worker = None if no_worker else self.start_worker()
        # SIGTERM (from `kill`, a supervisor or `timeout`) must also stop the worker below.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        self.print_welcome(addrport, with_demo=not no_demo)
        try:
            call_command("runserver", addrport, use_reloader=False)
        finally:
            if worker:
                self.stop_worker(worker)

    def start_worker(self) -> subprocess.Popen:
        log_dir = settings.VAR_DIR / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        log = open(log_dir / "worker.log", "ab")  # noqa: SIM115  (closed with the process)
        # -B embeds beat in the worker: one process runs both the tasks and the periodic schedule.
        command = [sys.executable, "-m", "celery", "-A", "mautomation", "worker", "-B", "--pool", "solo", "-l", "info"]
        command += ["-s", settings.CELERY_BEAT_SCHEDULE_FILENAME]
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def stop_worker(self, worker: subprocess.Popen) -> None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()

    def print_welcome(self, addrport: str, *, with_demo: bool) -> None:
        url = f"http://{addrport if ':' in addrport else '127.0.0.1:' + addrport}/"
        lines = ["", f"mautomation is running at {url}  (admin: {url}admin/, health: {url}healthz)"]
        if with_demo:
            lines.append("demo logins (username / password): " + ", ".join(f"{u} / {u}" for u in USERS))
            lines.append(f"sales workspace: {url}sales/  (log in as sales / sales)")
        worker_log = settings.VAR_DIR / "log" / "worker.log"
        lines.append(f"emails are written to {settings.EMAIL_FILE_PATH}/; the worker logs to {worker_log}")
        lines.append("stop with Ctrl-C")
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))
