"""ReadAhead: the next item is made in a thread only once asked, in order, with the caller's language."""

import threading

import pytest
from django.utils import translation
from django.utils.translation import gettext as _

from mautomation.lib.read_ahead import ReadAhead


def test_items_come_in_order_and_all_of_them():
    assert list(ReadAhead(iter(range(100)))) == list(range(100))


def test_the_next_item_is_made_in_another_thread_only_after_start():
    made, caller = [], threading.get_ident()

    def items():
        for n in range(3):
            made.append((n, threading.get_ident()))
            yield n

    ahead = ReadAhead(items())
    got = []
    for item in ahead:
        got.append(item)
        assert len(made) == item + 1  # nothing was made ahead before start()
        ahead.start()
        ahead.start()  # a second call makes nothing more
    assert got == [0, 1, 2]
    assert all(thread != caller for _n, thread in made)


def test_an_error_while_making_an_item_reaches_the_caller_at_that_item():
    def items():
        yield 1
        raise ValueError("line 7 is not CP932")

    ahead = ReadAhead(items())
    seen = []
    with pytest.raises(ValueError, match="line 7"):
        for item in ahead:
            seen.append(item)
            ahead.start()
    assert seen == [1]


def test_messages_made_in_the_thread_are_in_the_callers_language():
    def items():
        yield _("is required")

    with translation.override("ja"):
        [message] = list(ReadAhead(items()))
    assert message == "必須です"


def test_a_caller_that_stops_early_leaves_no_thread_running():
    before = threading.active_count()
    ahead = ReadAhead(iter(range(10)))
    for item in ahead:
        ahead.start()
        if item == 2:
            break
    assert threading.active_count() == before
