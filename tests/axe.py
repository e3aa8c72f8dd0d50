"""axe-core in a playwright page: ``check_page(page, "name")`` runs every rule axe-core has
on the whole page as it stands, records the counts per impact in
tests/artifacts/axe-counts.json and fails on any serious or critical violation.

axe-core comes from npm (tests/package.json, pinned in tests/package-lock.json); ``make
setup-test`` installs it with ``npm ci --prefix tests``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ARTIFACTS

AXE_JS = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
COUNTS = ARTIFACTS / "axe-counts.json"
BLOCKING = ("serious", "critical")
IMPACTS = ("critical", "serious", "moderate", "minor")

#: Violations inside gradio's own components that no option, theme variable or CSS of ours
#: reaches, each as (rule id, a CSS selector the node matches) with the reason. They are
#: still counted in axe-counts.json; only nodes of that rule matching the selector pass.
GRADIO_INTERNAL = {
    ("label-content-name-mismatch", ".upload-container"): (
        "gr.File's drop zone (gradio 6.31): the button's aria-label is hard-coded as 'Click to "
        "upload or drop files' while it shows 'Drop File Here - or - Click to Upload'"
    ),
}


def run_axe(page) -> list[dict]:
    """axe-core's violations on ``page``: every rule, the whole document."""
    if not AXE_JS.is_file():
        pytest.fail(f"{AXE_JS} is missing; run `make setup-test` (npm ci --prefix tests).")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    return page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")


def check_page(page, name: str) -> list[dict]:
    """Run axe on ``page``, record its counts under ``name`` and fail on any serious or
    critical violation (but the listed gradio-internal nodes), showing each one."""
    violations = run_axe(page)
    record_counts(name, violations)
    blocking = [
        (v, node)
        for v in violations
        if v["impact"] in BLOCKING
        for node in v["nodes"]
        if not _gradio_internal(page, v["id"], node)
    ]
    assert not blocking, f"axe-core on the {name} page:\n" + "\n".join(
        f"  {v['impact']} {v['id']} ({v['help']}): {node['target']} {node['html'][:160]}\n"
        f"    {node['failureSummary']}"
        for v, node in blocking
    )
    return violations


def _gradio_internal(page, rule: str, node: dict) -> bool:
    selectors = [sel for (known, sel) in GRADIO_INTERNAL if known == rule]
    if not selectors or len(node["target"]) != 1:  # a target in an iframe has several parts
        return False
    return page.evaluate(
        "([target, selectors]) => selectors.some(s => document.querySelector(target)?.matches(s))",
        [node["target"][0], selectors],
    )


def record_counts(name: str, violations: list[dict]) -> None:
    """Add ``name``'s violations (nodes per impact, and per rule) to axe-counts.json."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    counts = json.loads(COUNTS.read_text()) if COUNTS.exists() else {}
    by_impact = dict.fromkeys(IMPACTS, 0)
    for v in violations:
        by_impact[v["impact"] or "minor"] += len(v["nodes"])
    counts[name] = {
        **by_impact,
        "rules": {v["id"]: {"impact": v["impact"], "nodes": len(v["nodes"])} for v in violations},
    }
    COUNTS.write_text(json.dumps(counts, indent=2, sort_keys=True) + "\n")
