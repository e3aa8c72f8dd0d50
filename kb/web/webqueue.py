"""Gradio's queue, woken when there is work instead of polling every millisecond.

Gradio's queue loop (``gradio.queueing.Queue.start_processing``) sleeps
``sleep_when_free`` (1 ms on Linux) each time it finds nothing to start, so an idle app
wakes a thousand times a second per queue: about 9% of a core here with nobody asking
(docs/BENCHMARKS.md). ``wake_on_work`` lets the loop sleep up to a second instead, and
wakes it at once at the two moments it can have something to start: a request joins the
queue, or a running job ends. A request therefore starts as soon as it did with polling.

The loop is gradio's own; only its idle sleep is replaced, through the ``asyncio`` name
``gradio.queueing`` uses (every other ``asyncio`` call passes through unchanged).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools

#: Longest idle sleep of the queue loop, in seconds; work wakes it sooner.
IDLE_SECONDS = 1.0
#: How often running jobs' progress is sent to the page (gradio's default is 0.01 s).
PROGRESS_SECONDS = 0.1


class _IdleDelay(float):
    """The queue loop's idle sleep, told apart from every other sleep by its type."""


class _AsyncioWithWake:
    """``asyncio`` as ``gradio.queueing`` sees it: the same, but an idle sleep ends early
    when ``wake()`` is called."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def __getattr__(self, name: str):
        return getattr(asyncio, name)

    def wake(self) -> None:
        if self._event is not None:
            self._event.set()

    async def sleep(self, delay: float, result=None):
        if not isinstance(delay, _IdleDelay):
            return await asyncio.sleep(delay, result)
        if self._event is None:
            self._event = asyncio.Event()
        # Nothing runs between the loop's "no work" check and here, so work that came
        # before is already seen by the loop; only what comes after sets the event.
        self._event.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), delay)
        return result


def wake_on_work(queue, idle_seconds: float = IDLE_SECONDS) -> None:
    """Make a gradio ``Queue`` (``blocks._queue`` after ``blocks.queue()``) sleep when idle
    and wake on work. Call before the app starts."""
    from gradio import queueing

    proxy = queueing.asyncio
    if not isinstance(proxy, _AsyncioWithWake):
        proxy = _AsyncioWithWake()
        queueing.asyncio = proxy
    queue.sleep_when_free = _IdleDelay(idle_seconds)
    queue.progress_update_sleep_when_free = PROGRESS_SECONDS
    queue.push = _waking(queue.push, proxy)
    queue.process_events = _waking(queue.process_events, proxy)


def _waking(step, proxy: _AsyncioWithWake):
    """``step`` (a coroutine function), waking the queue loop when it ends, failed or not."""

    @functools.wraps(step)
    async def step_and_wake(*args, **kwargs):
        try:
            return await step(*args, **kwargs)
        finally:
            proxy.wake()

    return step_and_wake
