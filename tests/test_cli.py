"""The analysis-kit command line, run as users run it (a real subprocess)."""

import csv
import io
import json
import shutil
import subprocess
import sys

import pytest

from analysis_kit import cli
from analysis_kit.report.notebooks import all_names, notebook_text
from conftest import SAMPLES, real

CLI = [sys.executable, "-m", "analysis_kit.cli"]


def run_cli(*args, **kw):
    return subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, timeout=120, **kw)


def _table(stdout: str) -> tuple[list[str], list[list[str]]]:
    """A `simple` table printed by the CLI: its header cells and rows (cells split on 2+ spaces)."""
    import re

    lines = [line for line in stdout.splitlines() if line.strip()]
    split = lambda line: [c for c in re.split(r"\s{2,}", line.strip()) if c]  # noqa: E731
    return split(lines[0]), [split(line) for line in lines[2:]]


def test_summary_of_a_real_run_prints_an_aligned_formatted_table():
    path = real("tau2", "airline_grok-3-mini_10sims.json")
    out = run_cli("summary", path)
    assert out.returncode == 0, out.stderr
    header, rows = _table(out.stdout)
    assert header[:5] == ["run id", "format", "tasks", "successes", "pass rate"]
    assert set(out.stdout.splitlines()[1]) <= {"-", " "}  # the rule under the header
    row = dict(zip(header, rows[0]))
    assert row["format"] == "tau2_results" and row["tasks"] == "10"
    assert row["pass rate"].endswith("%") and row["cost"].startswith("$")
    assert "e+" not in out.stdout and "e-0" not in out.stdout and "nan" not in out.stdout.lower()
    lines = out.stdout.splitlines()
    assert len({len(line.rstrip()) for line in lines[:2]}) == 1  # aligned columns
    end = lines[0].index("tasks") + len("tasks")
    assert lines[2][:end].endswith(" " + row["tasks"])  # numbers right-aligned under their header


def test_summary_json_and_csv_hold_raw_values():
    path = real("tau2", "airline_grok-3-mini_10sims.json")
    records = json.loads(run_cli("summary", "--json", path).stdout)
    assert records[0]["format"] == "tau2_results" and records[0]["tasks"] == 10
    assert 0 <= records[0]["pass_rate"] <= 1 and isinstance(records[0]["input_tokens"], int)
    rows = list(csv.DictReader(io.StringIO(run_cli("summary", "--csv", path).stdout)))
    assert rows[0]["run_id"] == records[0]["run_id"] and float(rows[0]["pass_rate"]) == records[0]["pass_rate"]


def test_summary_of_several_runs_lists_those_that_did_not_load(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("nothing to see\n")
    good = [real("tau2", "telecom_grok-3_5sims.json"), real("massgen", "log_20251025_225510")]
    out = run_cli("summary", good[0], junk, good[1], tmp_path / "missing.json")
    assert out.returncode == 1  # some loaded, some did not
    _, rows = _table(out.stdout)
    assert [r[1] for r in rows] == ["tau2_results", "massgen"]  # the runs that loaded, in order
    assert "2 of 4 paths did not load" in out.stderr
    assert f"{junk}: not a run of any supported format" in out.stderr and "tried" in out.stderr
    assert str(tmp_path / "missing.json") in out.stderr and "Traceback" not in out.stderr


def test_not_a_run_is_a_clear_error_not_a_traceback(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("nothing to see\n")
    out = run_cli("summary", junk)
    assert out.returncode == 2  # nothing loaded
    assert "Traceback" not in out.stderr
    assert str(junk) in out.stderr and "tried" in out.stderr


def test_the_same_run_has_the_same_id_in_every_command(tmp_path):
    """Two runs with the same file name: summary, report and load_runs all call them x and x#2."""
    import analysis_kit as ak
    from analysis_kit.report.runner import _load

    src = real("tau2", "telecom_grok-3_5sims.json")
    paths = []
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        paths.append(str(shutil.copy(src, tmp_path / folder / "x.json")))
    in_summary = cli.load_each(paths)[0].run_ids
    in_report = _load(paths, {})[0].run_ids
    assert in_summary == in_report == ak.load_runs(paths, progress=False).run_ids == ["x", "x#2"]
    _, rows = _table(run_cli("summary", *paths).stdout)
    assert [r[0] for r in rows] == ["x", "x#2"]


def test_option_flags_are_parsed_as_json_or_text():
    assert cli.parse_option("turn=2") == ("turn", 2)
    assert cli.parse_option("strict=true") == ("strict", True)
    assert cli.parse_option('id="7"') == ("id", "7")
    assert cli.parse_option("agent=agent_a") == ("agent", "agent_a")
    args = cli.build_parser().parse_args(["report", "x", "--option", "turn=2", "--option", "attempt=1"])
    assert cli.load_options(args) == {"turn": 2, "attempt": 1}
    out = run_cli("summary", SAMPLES / "maseval", "--option", "=2")
    assert out.returncode == 2 and "KEY=VALUE" in out.stderr


def test_notebooks_command_writes_the_generated_notebooks(tmp_path):
    out = run_cli("notebooks", tmp_path)
    assert out.returncode == 0, out.stderr
    for name in all_names():
        assert (tmp_path / f"{name}.ipynb").read_text() == notebook_text(name)


def test_lab_prepares_notebooks_and_the_kits_kernel_without_registering_anything(tmp_path):
    folder = tmp_path / "my analysis"
    folder.mkdir()
    (folder / "latency.ipynb").write_text("my own edits")
    out = run_cli("lab", folder, "--prepare-only")
    assert out.returncode == 0, out.stderr
    assert (folder / "latency.ipynb").read_text() == "my own edits"  # a user's copy is kept
    assert (folder / "overview.ipynb").read_text() == notebook_text("overview")
    spec = json.loads((folder / ".analysis-kit" / "kernels" / "analysis-kit" / "kernel.json").read_text())
    assert spec["argv"][:3] == [sys.executable, "-m", "ipykernel_launcher"]  # this very interpreter
    notebooks, env = cli.prepare_lab(folder, refresh=True)
    assert (folder / "latency.ipynb").read_text() == notebook_text("latency")
    assert env["JUPYTER_PATH"].split(":")[0] == str((folder / ".analysis-kit").resolve())
    assert cli.lab_command(folder)[:3] == [sys.executable, "-m", "jupyterlab"]


def test_samples_command_writes_every_format(tmp_path):
    out = run_cli("samples", tmp_path / "s", "--seed", "3")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "s" / "samples.json").exists()
    from analysis_kit.samples import sample_writers

    assert len(out.stdout.split()) == len(sample_writers())  # one path per sample (7 with Inspect's)


@pytest.mark.parametrize("command", ["summary", "report", "ingest", "lab", "notebooks", "samples", "report-samples"])
def test_every_command_has_help(command):
    out = run_cli(command, "--help")
    assert out.returncode == 0 and "usage: analysis-kit" in out.stdout
