"""A local SMTP server that counts what it accepts, per recipient (aiosmtpd, in a thread)."""

import socket
import threading
from collections import Counter
from email import message_from_bytes

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, *, keep: int = 0):
        self.received: Counter[str] = Counter()
        self.kept: list = []  # the first `keep` messages, parsed, for assertions on content
        self.keep = keep
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received[rcpt.lower()] += 1
            if len(self.kept) < self.keep:
                self.kept.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 OK"

    @property
    def total(self) -> int:
        with self.lock:
            return sum(self.received.values())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_sink(*, keep: int = 0) -> tuple[Sink, Controller]:
    sink = Sink(keep=keep)
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    return sink, controller
