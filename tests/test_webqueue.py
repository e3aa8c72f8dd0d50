"""Gradio's queue loop sleeps while idle and is woken by work (kb/web/webqueue.py)."""

from __future__ import annotations

import asyncio

import gradio as gr
import pytest

from kb.web import webqueue


def test_an_idle_sleep_ends_when_work_arrives_and_other_sleeps_pass_through() -> None:
    proxy = webqueue._AsyncioWithWake()

    async def scenario() -> tuple[str, str]:
        idle = asyncio.ensure_future(proxy.sleep(webqueue._IdleDelay(60), "woken"))
        await asyncio.sleep(0.05)
        assert not idle.done()  # asleep, not polling its way out
        proxy.wake()
        woken = await asyncio.wait_for(idle, 10)  # long before its 60 s
        plain = await proxy.sleep(0.01, "slept")
        return woken, plain

    assert asyncio.run(scenario()) == ("woken", "slept")


def test_a_real_queue_sleeps_when_idle_and_is_woken_by_a_push_and_by_a_job_ending() -> None:
    from gradio import queueing

    with gr.Blocks() as blocks:
        gr.Textbox()
    blocks.queue()
    queue = blocks._queue
    webqueue.wake_on_work(queue)
    assert isinstance(queue.sleep_when_free, webqueue._IdleDelay)
    assert isinstance(queueing.asyncio, webqueue._AsyncioWithWake)
    assert queue.push.__wrapped__ and queue.process_events.__wrapped__  # gradio's own, wrapped

    class Stand:  # a queue whose push succeeds and whose job fails
        async def push(self, *args, **kwargs):
            return "pushed"

        async def process_events(self, *args, **kwargs):
            raise RuntimeError("the job failed")

    stand = Stand()
    webqueue.wake_on_work(stand)
    woken = []
    queueing.asyncio.wake = lambda: woken.append(True)
    try:
        assert asyncio.run(stand.push()) == "pushed"
        with pytest.raises(RuntimeError, match="the job failed"):
            asyncio.run(stand.process_events())
    finally:
        del queueing.asyncio.wake  # back to the class's own
    assert woken == [True, True]  # after the push, and after the job, even a failed one
