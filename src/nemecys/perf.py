"""Helpers that keep large runs fast."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause cyclic garbage collection while building many long-lived objects.

    Parsing a model or scoring its threats allocates hundreds of thousands of objects that all
    stay alive; every collection pass walks them and finds nothing to free. Reference counting
    still frees everything else, and the previous state is restored on exit.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
