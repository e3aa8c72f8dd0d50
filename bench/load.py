"""A bounded load on the running app: N gradio_client clients calling /search in a loop.

Used by bench/bench_load.py (long runs, several queue settings) and by tests/test_load.py
(a short run in CI while a re-ingest switches in). Loopback only.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

QUESTIONS = [
    "How long is the redness after a CO2 laser?",
    "How many sessions will I need?",
    "Can I wear makeup after treatment?",
    "What is the cancellation fee?",
    "Can I have treatment if I took isotretinoin?",
    "Do you treat darker skin types?",
    "How long does the numbing cream stay on?",
    "What are the warning signs of infection?",
    "How much does fractional CO2 cost?",
    "Where do I park?",
    "is it painful",
    "can i go in the sun after",
]


@dataclass
class LoadResult:
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    failures: list[str] = field(default_factory=list)
    busy: int = 0  # refused at once because the queue was full
    hung: int = 0  # clients still waiting for an answer long after the run ended
    sources: list[set[str]] = field(default_factory=list)  # per request, the sources returned

    @property
    def requests(self) -> int:
        return len(self.latencies) + len(self.failures) + self.busy

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """The p-th percentile latency in milliseconds (nearest rank)."""
        from bench.answers import percentile

        return 1000 * percentile(self.latencies, p)

    def summary(self) -> dict:
        return {
            "clients": self.clients,
            "seconds": round(self.seconds, 1),
            "requests": self.requests,
            "ok": len(self.latencies),
            "failed": len(self.failures),
            "busy": self.busy,
            "hung": self.hung,
            "per_second": round(self.throughput, 1),
            "p50_ms": round(self.percentile(50), 1),
            "p95_ms": round(self.percentile(95), 1),
            "p99_ms": round(self.percentile(99), 1),
            "max_ms": round(1000 * max(self.latencies), 1) if self.latencies else None,
            "mean_ms": round(1000 * statistics.fmean(self.latencies), 1) if self.latencies else None,
        }


def run_load(
    url: str,
    clients: int,
    seconds: float,
    until: Callable[[], bool] | None = None,
    max_seconds: float | None = None,
    questions: list[str] = QUESTIONS,
    on_start: Callable[[], None] | None = None,
    kind: str = "gradio_client",
) -> LoadResult:
    """Call /search from ``clients`` threads, each with its own gradio_client, for ``seconds``
    (or, with ``until``, until it returns True, at most ``max_seconds``). Every request's
    latency or failure is recorded; a "queue is full" refusal counts as busy. ``on_start``
    is called once every client is connected, just before the load begins.

    ``kind``: "gradio_client"; "rest", gradio's documented REST API called with plain HTTP
    (the same server work without the client library's own cost); or "plain", the app's
    ``/api/search`` JSON route (no gradio queue or event stream)."""
    from gradio_client import Client

    makers = {"gradio_client": lambda: Client(url, verbose=False), "rest": lambda: RestClient(url)}
    makers["plain"] = lambda: PlainClient(url)
    connected = [makers[kind]() for _ in range(clients)]
    result = LoadResult(clients, 0.0)
    lock = threading.Lock()
    stop = threading.Event()

    def work(n: int, client: Client) -> None:
        i = n
        while not stop.is_set():
            question = questions[i % len(questions)]
            i += 1
            began = time.perf_counter()
            try:
                answer = client.predict(question, 5, api_name="/search")
            except Exception as exc:  # every failure is counted, none is hidden
                text = f"{type(exc).__name__}: {exc}"
                with lock:
                    if "queue is full" in text.lower():
                        result.busy += 1
                    else:
                        result.failures.append(text)
                continue
            took = time.perf_counter() - began
            with lock:
                result.latencies.append(took)
                result.sources.append({p["source"] for p in answer["passages"]})

    threads = [threading.Thread(target=work, args=(n, c), daemon=True) for n, c in enumerate(connected)]
    if on_start is not None:
        on_start()
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    limit = max_seconds if until is not None and max_seconds is not None else seconds
    while time.perf_counter() - began < limit:
        if until is not None and time.perf_counter() - began >= seconds and until():
            break
        time.sleep(0.1)
    stop.set()
    for thread in threads:
        thread.join(120)
    result.hung = sum(thread.is_alive() for thread in threads)
    result.seconds = time.perf_counter() - began
    for client in connected:
        client.close()
    return result


class RestClient:
    """/search through gradio's REST API (``POST /gradio_api/call/search``, then the event's
    result stream), with the ``predict`` signature of gradio_client's Client."""

    def __init__(self, url: str) -> None:
        import httpx

        self._http = httpx.Client(base_url=url.rstrip("/"), timeout=120)

    def predict(self, question: str, k: int, api_name: str = "/search") -> dict:
        import json

        posted = self._http.post(f"/gradio_api/call{api_name}", json={"data": [question, k]})
        if posted.status_code != 200:
            raise RuntimeError(f"HTTP {posted.status_code}: {posted.text[:200]}")
        stream = self._http.get(f"/gradio_api/call{api_name}/{posted.json()['event_id']}").text
        event, data = None, None
        for line in stream.splitlines():
            if line.startswith("event: "):
                event = line[7:].strip()
            elif line.startswith("data: "):
                data = line[6:]
        if event != "complete" or data is None:
            raise RuntimeError(f"{event}: {(data or stream)[:200]}")
        return json.loads(data)[0]

    def close(self) -> None:
        self._http.close()


class PlainClient(RestClient):
    """The app's plain JSON route, ``GET /api/search?q=...&k=...``."""

    def predict(self, question: str, k: int, api_name: str = "/search") -> dict:
        answer = self._http.get("/api/search", params={"q": question, "k": k})
        if answer.status_code == 503:
            raise RuntimeError("Queue is full (503)")
        if answer.status_code != 200:
            raise RuntimeError(f"HTTP {answer.status_code}: {answer.text[:200]}")
        return answer.json()
