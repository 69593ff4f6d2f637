"""Preparing the next item of an iterator in a thread while the caller waits on the database.

The import checks a batch in Python, then writes it and waits for PostgreSQL to commit
it (the foreign-key checks run then: a fifth of the import's time). `ReadAhead` lets
the caller say "I am about to wait": from then the next item is prepared in one
background thread, so the two overlap. The thread runs only while asked, so it never
competes with the caller for the interpreter lock except in the moment the wait ends.

Items are produced strictly one after another, in order, by one thread at a time; an
exception raised while preparing one is raised to the caller when it asks for that item.
"""

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

from django.utils import translation

T = TypeVar("T")
_END = object()


class ReadAhead(Generic[T]):
    def __init__(self, items: Iterator[T]) -> None:
        self._items = items
        self._language = translation.get_language()  # messages made in the thread speak the caller's language
        self._next: Future | None = None

    def start(self) -> None:
        """Begin preparing the next item (once; a second call before it is taken does nothing)."""
        if self._next is None:
            self._next = self._pool.submit(self._produce)

    def __iter__(self) -> Iterator[T]:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead") as self._pool:
            try:
                while True:
                    self.start()
                    item, self._next = self._next.result(), None
                    if item is _END:
                        return
                    yield item
            finally:
                if self._next is not None:  # the caller stopped early: let a running preparation end first
                    self._next.cancel()

    def _produce(self) -> object:
        with translation.override(self._language):
            return next(self._items, _END)
