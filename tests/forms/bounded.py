"""Run a call with a time bound, for tests of catastrophic regex backtracking.

A backtracking regex engine (Python's re) holds the GIL for the whole of one C call, so neither
`Thread.join(timeout)` nor the sandbox's deadline gets to run while it spins: a thread-based
bound would hang with it. The call runs in a forked child instead, which can be killed; a hang is
then an ordinary test failure and the other tests go on.
"""
from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable
from typing import Any


def finishes(fn: Callable[[], Any], timeout: float = 20.0, *, in_child: Callable[[], None] | None = None) -> Any:
    """fn()'s result (it must pickle), computed in a forked child; AssertionError if the child is
    still running after `timeout` seconds or fn raised. `in_child` runs first in the child (e.g. to
    drop database connections inherited from the parent)."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)

    def child() -> None:
        try:
            if in_child is not None:
                in_child()
            send.send(("ok", fn()))
        except BaseException as exc:  # reported to the parent as text: pytest's exceptions do not pickle
            send.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))

    process = ctx.Process(target=child, daemon=True)
    process.start()
    try:
        if not receive.poll(timeout):
            raise AssertionError(f"still running after {timeout} s: catastrophic backtracking?")
        status, value = receive.recv()
    finally:
        process.kill()
        process.join()
    assert status == "ok", value
    return value
