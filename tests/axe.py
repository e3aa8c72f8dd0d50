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

def run_axe(page) -> list[dict]:
    """axe-core's violations on ``page``: every rule, the whole document."""
    if not AXE_JS.is_file():
        pytest.fail(f"{AXE_JS} is missing; run `make setup-test` (npm ci --prefix tests).")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    return page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")


def check_page(page, name: str) -> list[dict]:
    """Run axe on ``page``, record its counts under ``name`` and fail on any serious or
    critical violation, showing each one."""
    violations = run_axe(page)
    record_counts(name, violations)
    blocking = [(v, node) for v in violations if v["impact"] in BLOCKING for node in v["nodes"]]
    assert not blocking, f"axe-core on the {name} page:\n" + "\n".join(
        f"  {v['impact']} {v['id']} ({v['help']}): {node['target']} {node['html'][:160]}\n"
        f"    {node['failureSummary']}"
        for v, node in blocking
    )
    return violations


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
