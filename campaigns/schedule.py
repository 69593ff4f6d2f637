"""When a step is due: its delay, then the next opening of its send window, in local time (Asia/Tokyo).

Pure functions on aware datetimes, tested without the database. Japan has no
daylight saving time, but nothing here assumes it: openings are built from
local dates and times and converted back, so a zone with DST would also work.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

ALL_DAYS = frozenset(range(7))


@dataclass(frozen=True)
class Window:
    """Days (Monday=0) and hours a step may be sent; start/end None mean the whole day."""

    weekdays: frozenset[int] = ALL_DAYS
    start: time | None = None
    end: time | None = None

    @property
    def always(self) -> bool:
        return self.weekdays == ALL_DAYS and self.start is None and self.end is None


def window_of(*, weekdays: str, start: time | None, end: time | None) -> Window:
    days = frozenset(int(c) for c in weekdays if c.isdigit() and int(c) < 7) or ALL_DAYS
    return Window(weekdays=days, start=start, end=end)


def window_problem(window: Window) -> str:
    """Why a window can never open ("" when it can); the caller translates."""
    if window.start is not None and window.end is not None and window.end <= window.start:
        return "end_before_start"
    return ""


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def next_opening(*, at: datetime, window: Window, zone: ZoneInfo | None = None) -> datetime:
    """`at` itself when inside the window, else the window's next start (aware, in UTC)."""
    if window.always:
        return at
    zone = zone or local_zone()
    local = at.astimezone(zone)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        if day.weekday() not in window.weekdays:
            continue
        opens, closes = _bounds(day, window, zone)
        if local < opens:
            return opens.astimezone(ZoneInfo("UTC"))
        if local < closes:
            return at
    raise ValueError("window never opens")  # unreachable with a valid window: some weekday is always allowed


def _bounds(day: date, window: Window, zone: ZoneInfo) -> tuple[datetime, datetime]:
    opens = datetime.combine(day, window.start or time(0), zone)
    closes = datetime.combine(day, window.end, zone) if window.end else datetime.combine(
        day + timedelta(days=1), time(0), zone)  # fmt: skip
    return opens, closes


def due_at(*, after: datetime, wait: timedelta, window: Window, zone: ZoneInfo | None = None) -> datetime:
    """The delay counted from `after`, then moved to the next opening of the window."""
    return next_opening(at=after + wait, window=window, zone=zone)
