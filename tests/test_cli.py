"""The analysis-kit command line, run as users run it (a real subprocess)."""

import subprocess
import sys

from conftest import REAL_LOGS, SAMPLES, real

CLI = [sys.executable, "-m", "analysis_kit.cli"]


def run_cli(*args, **kw):
    return subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, timeout=120, **kw)


def test_summary_of_a_real_run_prints_its_table():
    path = real("tau2", "airline_grok-3-mini_10sims.json")
    out = run_cli("summary", path)
    assert out.returncode == 0, out.stderr
    header = out.stdout.splitlines()[0].split()
    assert header[:4] == ["run_id", "format", "tasks", "successes"]
    assert "tau2_results" in out.stdout
    assert " 10 " in out.stdout  # ten simulations


def test_summary_of_several_runs_has_a_row_each():
    out = run_cli("summary", real("tau2", "telecom_grok-3_5sims.json"), real("massgen", "log_20251025_225510"))
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    assert len(lines) == 3 and "massgen" in lines[2]


def test_not_a_run_is_a_clear_error_not_a_traceback(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("nothing to see\n")
    out = run_cli("summary", junk)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert str(junk) in out.stderr and "tried" in out.stderr


def test_samples_command_writes_every_format(tmp_path):
    out = run_cli("samples", tmp_path / "s", "--seed", "3")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "s" / "samples.json").exists()
    from analysis_kit.samples import sample_writers

    assert len(out.stdout.split()) == len(sample_writers())  # one path per sample (7 with Inspect's)
