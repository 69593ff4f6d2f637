"""Due times: the delay, then the next opening of the send window, counted in Tokyo local time."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from campaigns.schedule import Window, due_at, next_opening, window_of, window_problem

TOKYO = ZoneInfo("Asia/Tokyo")
OFFICE = Window(weekdays=frozenset(range(5)), start=time(9), end=time(18))  # weekdays 9:00–18:00


def tokyo(*args) -> datetime:
    return datetime(*args, tzinfo=TOKYO)


def test_inside_the_window_the_time_is_kept():
    at = tokyo(2026, 11, 24, 10, 30)  # a Tuesday
    assert next_opening(at=at, window=OFFICE, zone=TOKYO) == at


def test_before_opening_waits_for_nine_the_same_day():
    assert next_opening(at=tokyo(2026, 11, 24, 7, 0), window=OFFICE, zone=TOKYO) == tokyo(2026, 11, 24, 9, 0)


def test_the_opening_minute_itself_is_inside_and_the_closing_minute_outside():
    assert next_opening(at=tokyo(2026, 11, 24, 9, 0), window=OFFICE, zone=TOKYO) == tokyo(2026, 11, 24, 9, 0)
    assert next_opening(at=tokyo(2026, 11, 24, 18, 0), window=OFFICE, zone=TOKYO) == tokyo(2026, 11, 25, 9, 0)


def test_friday_evening_waits_for_monday_morning():
    assert next_opening(at=tokyo(2026, 11, 27, 19, 0), window=OFFICE, zone=TOKYO) == tokyo(2026, 11, 30, 9, 0)


def test_saturday_waits_for_monday():
    assert next_opening(at=tokyo(2026, 11, 28, 12, 0), window=OFFICE, zone=TOKYO) == tokyo(2026, 11, 30, 9, 0)


def test_tokyo_midnight_is_the_next_local_day_not_the_utc_day():
    # 15:30 UTC on Friday is 00:30 Saturday in Tokyo: the weekday rule reads Tokyo's calendar.
    at = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
    weekend = Window(weekdays=frozenset({5, 6}))
    assert next_opening(at=at, window=weekend, zone=TOKYO) == at
    assert next_opening(at=at, window=OFFICE, zone=TOKYO) == tokyo(2026, 11, 30, 9, 0)


def test_result_is_an_aware_instant_equal_to_the_local_opening():
    result = next_opening(at=tokyo(2026, 11, 24, 7, 0), window=OFFICE, zone=TOKYO)
    assert result.utcoffset() is not None
    assert result == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)


def test_hours_only_window_applies_every_day():
    evenings = Window(start=time(19), end=time(21))
    assert next_opening(at=tokyo(2026, 11, 29, 22, 0), window=evenings, zone=TOKYO) == tokyo(2026, 11, 30, 19, 0)


def test_end_of_day_window_runs_until_local_midnight():
    late = Window(start=time(20))
    assert next_opening(at=tokyo(2026, 11, 24, 23, 59), window=late, zone=TOKYO) == tokyo(2026, 11, 24, 23, 59)
    assert next_opening(at=tokyo(2026, 11, 25, 0, 1), window=late, zone=TOKYO) == tokyo(2026, 11, 25, 20, 0)


def test_no_window_sends_as_soon_as_the_delay_is_over():
    after = tokyo(2026, 11, 28, 3, 0)
    assert due_at(after=after, wait=timedelta(days=3), window=Window(), zone=TOKYO) == tokyo(2026, 12, 1, 3, 0)


def test_three_days_after_a_friday_evening_is_monday_evening_then_tuesday_morning():
    after = tokyo(2026, 11, 27, 20, 0)  # Friday 20:00 + 3 days = Monday 20:00: closed, so Tuesday 9:00
    assert due_at(after=after, wait=timedelta(days=3), window=OFFICE, zone=TOKYO) == tokyo(2026, 12, 1, 9, 0)


def test_window_of_reads_weekday_digits_and_ignores_junk():
    assert window_of(weekdays="0 1,4", start=None, end=None).weekdays == frozenset({0, 1, 4})
    assert window_of(weekdays="", start=None, end=None).weekdays == frozenset(range(7))
    assert window_of(weekdays="789", start=None, end=None).weekdays == frozenset(range(7))


BAD = "end_before_start"


@pytest.mark.parametrize(
    ("start", "end", "problem"), [(time(9), time(18), ""), (time(18), time(9), BAD), (time(9), time(9), BAD)]
)
def test_a_window_must_end_after_it_starts(start, end, problem):
    assert window_problem(Window(start=start, end=end)) == problem
