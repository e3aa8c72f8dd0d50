"""The public API as MCP tools for AI assistants: the real `mcp` client against the real app
(kb/web/server.py), over streamable HTTP and SSE."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from test_app import STAFF_ACTIONS, RunningApp, app, copy_of  # noqa: F401 - app: the running app

from kb.config import Settings

pytestmark = pytest.mark.slow

def in_session(app: RunningApp, work: Callable[[ClientSession], Awaitable[Any]], transport: str = "http") -> Any:
    """Connect the MCP client to the app, initialize, and return what ``work`` returns."""

    async def run() -> Any:
        if transport == "http":
            connect = streamable_http_client(app.url + "gradio_api/mcp/")
        else:
            connect = sse_client(app.url + "gradio_api/mcp/sse")
        async with connect as (read, write, *_), ClientSession(read, write) as session:
            await session.initialize()
            return await work(session)

    return asyncio.run(asyncio.wait_for(run(), timeout=120))


def call(app: RunningApp, tool: str, arguments: dict, transport: str = "http"):
    return in_session(app, lambda session: session.call_tool(tool, arguments), transport)


@pytest.mark.parametrize("transport", ["http", "sse"])
def test_the_tools_are_search_and_documents_only(app: RunningApp, transport: str) -> None:
    tools = {t.name: t for t in in_session(app, lambda s: s.list_tools(), transport).tools}
    # Not the staff page's actions, nor the public page's private events (the ask button,
    # votes, the documents table).
    assert set(tools) == {"search", "documents"}
    assert not set(tools) & STAFF_ACTIONS
    search = tools["search"]
    for words in ("`answered`", "`urgent`", "contact the clinic now", "not medical advice", "reason", "message"):
        assert words in search.description
    assert "searched_for" in search.description and "small_talk" in search.description
    assert search.inputSchema["required"] == ["question"]
    assert "1,000 characters" in search.inputSchema["properties"]["question"]["description"]
    k = search.inputSchema["properties"]["k"]
    assert (k["type"], k["default"]) == ("integer", 5) and "1 to 50" in k["description"]
    assert "source" in tools["documents"].description


def test_the_staff_page_serves_no_mcp(app: RunningApp) -> None:
    # 404, not the 401 of a staff route that exists behind the login.
    assert httpx.get(app.url + "staff/gradio_api/info").status_code == 401
    for route in ("mcp/", "mcp/sse", "mcp/schema"):
        assert httpx.get(app.url + "staff/gradio_api/" + route).status_code == 404, route


def test_a_staff_action_cannot_be_called_as_a_tool(app: RunningApp) -> None:
    result = call(app, "reingest", {})
    assert result.isError and "Unknown tool" in result.content[0].text


@pytest.mark.parametrize("transport", ["http", "sse"])
def test_search_answers_a_patient_question_with_json(app: RunningApp, transport: str) -> None:
    result = call(app, "search", {"question": "How long is the redness after a CO2 laser?", "k": 3}, transport)
    assert not result.isError
    [content] = result.content
    answer = json.loads(content.text)
    assert (answer["answered"], answer["reason"], answer["urgent"]) == (True, "covered", False)
    assert len(answer["passages"]) == 3
    assert all(p["source"] and p["text"] for p in answer["passages"])
    assert "month" in answer["passages"][0]["text"] or "week" in answer["passages"][0]["text"]


def test_an_off_topic_question_is_not_answered(app: RunningApp) -> None:
    answer = json.loads(call(app, "search", {"question": "How much does Botox cost?"}).content[0].text)
    assert (answer["answered"], answer["reason"]) == (False, "not_covered")
    assert "don't cover" in answer["message"]


def test_warning_signs_are_urgent_with_the_urgent_line(app: RunningApp) -> None:
    question = "I have blisters and a fever three days after my laser"
    answer = json.loads(call(app, "search", {"question": question}).content[0].text)
    assert answer["urgent"] is True and "Contact the clinic now" in answer["message"]
    assert "555-0199" in answer["message"]


def test_a_bad_request_is_a_tool_error_that_says_what_to_change(app: RunningApp) -> None:
    result = call(app, "search", {"question": "redness", "k": 51})
    assert result.isError and "k must be a whole number from 1 to 50" in result.content[0].text
    result = call(app, "search", {"question": "x" * 1001})
    assert result.isError and "the limit is 1,000" in result.content[0].text


def test_documents_lists_what_is_indexed(app: RunningApp) -> None:
    documents = json.loads(call(app, "documents", {}).content[0].text)
    sources = {d["source"] for d in documents}
    assert "faq.md" in sources and "treatment-options.pdf" in sources
    pdf = next(d for d in documents if d["source"] == "treatment-options.pdf")
    assert pdf["type"] == "pdf" and pdf["url"] == "/files/treatment-options.pdf"


def test_gradio_mcp_server_env_leaves_staff_out_and_a_stop_is_prompt(
    shipped_index: Settings, tmp_path: Path
) -> None:
    # GRADIO_MCP_SERVER=True turns MCP on for every mount that does not say otherwise.
    running = RunningApp(copy_of(shipped_index, tmp_path), env={"GRADIO_MCP_SERVER": "True"})
    try:
        assert httpx.get(running.url + "staff/gradio_api/mcp/schema").status_code == 404
        assert not call(running, "search", {"question": "redness"}).isError
        # The tool call left gradio's client (and its heartbeat stream) inside the app.
        running.process.terminate()
        running.process.wait(timeout=10)
    finally:
        running.stop()


@pytest.mark.parametrize("transport", ["http", "sse"])
def test_a_question_asked_through_mcp_is_logged_as_such(app: RunningApp, transport: str) -> None:
    import time

    from kb.index.files.questions import QuestionStore

    typed = f"mcp log check over {transport}: do you do teeth whitening"
    assert not call(app, "search", {"question": typed, "k": 2}, transport).isError
    path = app.settings.index_dir / "questions.sqlite"
    deadline = time.monotonic() + 30
    logged = []
    while not logged and time.monotonic() < deadline:
        time.sleep(0.2)
        logged = [e for e in QuestionStore(path).entries("2000") if e.question == typed] if path.exists() else []
    assert [e.door for e in logged] == ["mcp"]
