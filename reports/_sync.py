"""Run blocking code that calls asyncio.run() even when this thread already has a running
event loop (e.g. a caller using Playwright's sync API or an async web server): then it runs
in a short-lived worker thread with a loop of its own."""
from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    if not _loop_running():
        return fn(*args, **kwargs)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def run(coro_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return call(lambda: asyncio.run(coro_factory()))
