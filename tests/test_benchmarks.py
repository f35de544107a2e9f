"""The benchmark runs (its quick mode, so it cannot rot unseen), and its README says what its
results JSON says."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

from ceasefire.backends import DEFAULT_MODEL
from conftest import ROOT

RUN = ROOT / "benchmarks" / "run.py"


def load_run_module():
    spec = importlib.util.spec_from_file_location("benchmarks_run", RUN)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_quick_mode_prints_its_table_and_writes_valid_json(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    names = [row["benchmark"] for row in result["rows"]]
    for expected in (
        "overhead",
        "prefix reuse",
        "grammar ÷ free tok/s",
        "checked first ÷ grammar tok/s",
        "batch c=32",
        "eval cache",
        "peak RSS",
        f"seed seconds: {DEFAULT_MODEL} ÷ floor",
    ):
        assert any(name.startswith(expected) for name in names), expected
        assert expected in done.stdout
    for row in result["rows"]:
        assert row["min"] <= row["median"] <= row["max"] and row["median"] > 0, row
        assert row["met"] is None or isinstance(row["met"], bool)
        # The library's sampler must write what llama-cpp-python's grammar writes.
        assert not any("DIFFERENT" in note for note in row["notes"]), row


def test_the_readme_table_is_the_results_json():
    run = load_run_module()
    result = json.loads((ROOT / "benchmarks" / "results.json").read_text())
    readme = (ROOT / "benchmarks" / "README.md").read_text()
    table = readme.split(run.TABLE_START)[1].split(run.TABLE_END)[0].strip()
    assert table == run.results_table(result)
