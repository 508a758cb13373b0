"""Hostile and broken inputs: nothing crashes, nothing is lost, nothing is trusted.

Each case of the corpus (tests/hostile/cases.py, its table in tests/hostile/README.md) must
give a Run with the damage in ``run.problems`` and the good records kept, or a LoadError
naming the file; the checks there assert the exact values by hand. This file runs every
case through the loader itself, through ``analysis_kit.load`` (format detection), in strict
mode, and covers the directory, CLI, chunked-loading and report paths.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

import analysis_kit as ak
from analysis_kit import LoadError
from analysis_kit.loaders import loader_module, tau2_profile
from hostile import make_corpus as mc
from hostile.cases import CASES, run_case

ROOT = Path(__file__).resolve().parents[1]
HANG_LIMIT_S = 120  # a guard against hangs (symlink loops), not a speed assertion
TRIED: dict[str, bool] = {}


@contextmanager
def no_hang(seconds: int = HANG_LIMIT_S):
    """Fail instead of hanging forever (SIGALRM; main thread only, which pytest uses)."""
    def alarm(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: a hang")
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _params() -> list:
    return [pytest.param(case, id=case.name, marks=[pytest.mark.slow] if case.slow else [])
            for case in CASES]


@pytest.mark.parametrize("case", _params())
def test_case(case, tmp_path):
    skip = case.skip_if()
    if skip:
        pytest.skip(skip)
    with no_hang():
        ok, detail = run_case(case, tmp_path)
    TRIED[case.name] = ok
    assert ok, detail


@pytest.mark.parametrize("case", _params())
def test_case_through_detection_and_strict(case, tmp_path):
    """ak.load (detection, cache) and strict=True raise nothing but LoadError, and a strict
    load of damaged input names the file of the first problem."""
    if case.skip_if():
        pytest.skip(case.skip_if())
    path = case.build(tmp_path)
    with no_hang():
        try:
            run = ak.load(path)
            assert isinstance(run, ak.Run)
        except LoadError as exc:
            assert exc.file is not None
            assert "loader failed" not in str(exc), f"a parser crash wrapped as LoadError: {exc}"
        try:
            lenient = loader_module(case.fmt).load(path)
        except LoadError:
            return  # a whole-file error: strict mode can only raise it too
        if not len(lenient.problems):
            assert isinstance(loader_module(case.fmt).load(path, strict=True), ak.Run)
            return
        with pytest.raises(LoadError) as info:
            loader_module(case.fmt).load(path, strict=True)
    files = set(lenient.problems["file"])
    assert info.value.file in files, (info.value.file, files)


def test_corpus_summary(tmp_path, capsys):
    """Runs the whole corpus once more and prints the count (shown without -s, and
    collected in one place for CI logs)."""
    tried = passed = skipped = 0
    failures = []
    for i, case in enumerate(c for c in CASES if not c.slow):
        if case.skip_if():
            skipped += 1
            continue
        tried += 1
        dest = tmp_path / str(i)
        dest.mkdir()
        with no_hang():
            ok, detail = run_case(case, dest)
        passed += ok
        if not ok:
            failures.append(f"{case.name}: {detail}")
    with capsys.disabled():
        print(f"\nhostile corpus: {tried} cases tried, {passed} passed, {skipped} skipped "
              f"(+{sum(c.slow for c in CASES)} slow cases in test_case)")
    assert tried >= 40 and passed == tried, failures


def test_corpus_names_are_unique_and_described():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    readme = (ROOT / "tests" / "hostile" / "README.md").read_text()
    missing = [n for n in names if f"`{n}`" not in readme]
    assert not missing, f"cases missing from tests/hostile/README.md: {missing}"


# ------------------------------------------------------------------ detection of junk

@pytest.mark.parametrize("maker", [mc.empty, mc.zeros, mc.binary])
@pytest.mark.parametrize("name", ["x.log", "x.json", "x.jsonl", "x.md", "status.txt", "noext"])
def test_detection_of_junk_is_a_load_error_naming_the_file(tmp_path, maker, name):
    path = maker(tmp_path, name)
    try:
        run = ak.load(path)
    except LoadError as exc:
        assert exc.file == str(path)
        return
    assert len(run.problems) >= 1  # a loader took it: the junk must be reported


def test_missing_path_is_a_load_error(tmp_path):
    with pytest.raises(LoadError) as info:
        ak.load(tmp_path / "nope.json")
    assert info.value.file == str(tmp_path / "nope.json")


def test_symlink_loop_file_is_a_load_error(tmp_path):
    loop = tmp_path / "loop.log"
    os.symlink("loop.log", loop)
    with no_hang(), pytest.raises(LoadError) as info:
        ak.load(loop)
    assert info.value.file == str(loop)


def test_directory_symlink_loop_does_not_hang(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    (folder / "a.log").write_bytes(mc.PROFILE.read_bytes())
    os.symlink(".", folder / "again")
    os.symlink("b.log", folder / "b.log")  # a file symlink to itself
    with no_hang():
        run = ak.load(folder, format="tau2_profile")
    assert len(run.events) == 13


# ------------------------------------------------------------------ many runs
# load_runs of 10,000 tiny runs takes minutes: it is benchmarks/bench_many_runs.py (which
# checks the same counts and problem rows), not a test.


# ------------------------------------------------------------------ chunked [PROFILE] loading

def _events_without_line_order(run):
    return run.events.drop(columns=["run_id"]).reset_index(drop=True)


@pytest.mark.parametrize("chunksize", [1, 2, 3, 7, 1000])
def test_profile_chunked_load_equals_whole_load(chunksize):
    whole = tau2_profile.load(mc.PROFILE)
    chunked = tau2_profile.load(mc.PROFILE, chunksize=chunksize)
    pd.testing.assert_frame_equal(_events_without_line_order(whole), _events_without_line_order(chunked),
                                  check_categorical=False)
    key = ["line", "reason"]
    pd.testing.assert_frame_equal(whole.problems.sort_values(key).reset_index(drop=True),
                                  chunked.problems.sort_values(key).reset_index(drop=True))
    pd.testing.assert_frame_equal(whole.tasks, chunked.tasks)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10"])
def test_profile_bad_chunksize_is_a_load_error(bad):
    with pytest.raises(LoadError, match="chunksize"):
        tau2_profile.load(mc.PROFILE, chunksize=bad)


MEMORY_SCRIPT = """
import resource, sys
from pathlib import Path
from analysis_kit.loaders import tau2_profile
tau2_profile.BLOCK_BYTES = {block}
run = tau2_profile.load(Path(sys.argv[1]), chunksize={chunksize})
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(len(run.events), len(run.problems), round(run.events["duration_ms"].sum(), 3), peak_mb)
"""


@pytest.mark.slow
def test_profile_log_larger_than_the_memory_budget_loads_in_chunks(tmp_path):
    """A 200k-line log read in blocks far smaller than the file gives the whole-load result.
    Each load runs in its own process so its peak memory is its own."""
    log = mc.big_profile_log(tmp_path, lines=200_000)
    size_mb = log.stat().st_size / 2**20
    results = []
    for block, chunksize in ((64 * 2**20, "None"), (2**20, "None"), (2**20, "5000")):
        out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT.format(block=block, chunksize=chunksize),
                              str(log)], capture_output=True, text=True, check=True, cwd=ROOT)
        results.append(out.stdout.split())
    whole, blocks, chunks = results
    assert whole[:3] == blocks[:3] == chunks[:3]
    assert int(whole[0]) == 196_000  # 200k lines minus one noise line in 50
    assert int(whole[1]) == 0
    print(f"profile log {size_mb:.0f} MB: peak RSS whole {float(whole[3]):.0f} MB, "
          f"1 MB blocks {float(blocks[3]):.0f} MB, 5000-line chunks {float(chunks[3]):.0f} MB")


# ------------------------------------------------------------------ hostile paths

HOSTILE_DIR_NAME = "run dir with spaces 'single' \"double\" $(touch pwned) `x` \u00e9\u00e8 \u6f22\u5b57\nnewline"


def _hostile_copy(tmp_path: Path) -> Path:
    folder = tmp_path / HOSTILE_DIR_NAME
    folder.mkdir()
    target = folder / "prof ile's \"log\" \u00fc.log"
    target.write_bytes(mc.PROFILE.read_bytes())
    return target


def test_cli_summary_of_a_hostile_path(tmp_path):
    path = _hostile_copy(tmp_path)
    env = dict(os.environ, ANALYSIS_KIT_CACHE_DIR=str(tmp_path / "cache"), PYTHONIOENCODING="utf-8")
    out = subprocess.run([sys.executable, "-m", "analysis_kit.cli", "summary", "--problems", str(path)],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:4] == ["run", "id", "format", "tasks"]  # the aligned table's header
    row = lines[2].split()
    assert "tau2_profile" in row and row[row.index("tau2_profile") + 1] == "2"  # tasks t1, t2
    assert "timestamp does not parse" in out.stdout
    assert not (tmp_path / "pwned").exists()


def test_cli_error_on_junk_names_the_file(tmp_path):
    folder = tmp_path / "we ird \u00e9"
    folder.mkdir()
    path = mc.binary(folder, "junk 'x'.bin")
    out = subprocess.run([sys.executable, "-m", "analysis_kit.cli", "summary", str(path)],
                         capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PYTHONIOENCODING="utf-8"))
    assert out.returncode == 2
    assert str(path) in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_papermill_notebook_sees_the_exact_hostile_path(tmp_path):
    """The path goes through papermill parameters into a section notebook unchanged: no
    injection into the generated code, and the notebook loads exactly that file."""
    pytest.importorskip("papermill")
    from analysis_kit.report.execute import execute

    path = _hostile_copy(tmp_path)
    output = tmp_path / "out.ipynb"
    with no_hang(600):
        execute(ROOT / "notebooks" / "problems.ipynb", output, {"run_path": str(path)}, timeout=300)
    nb = json.loads(output.read_text())
    injected = [c for c in nb["cells"] if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(injected) == 1
    namespace: dict = {}
    exec("".join(injected[0]["source"]), namespace)  # the generated code, run on its own
    assert namespace["run_path"] == str(path)
    text = json.dumps(nb["cells"])
    # the loader's 7, and the contract's row for the event type no analysis knows (mystery_event)
    assert "8 input problems in 1 file." in text
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


# ------------------------------------------------------------------ the report of a damaged run

@pytest.mark.slow
def test_report_of_a_damaged_run_lists_input_problems(tmp_path):
    from analysis_kit.report import run_report

    with no_hang(900):
        log = tmp_path / "damaged.log"
        log.write_bytes(mc.PROFILE.read_bytes() + b"[PROFILE] 2025-12-23 10:00:09.000 task=t9 "
                        b"type=llm_call duration_ms=<script>alert(1)</script>\n")
        result = run_report([str(log)], tmp_path / "report", sections=["overview", "problems"],
                            formats=("md",), jobs=1, progress=False)
    assert result.ok, result.failed
    report = (tmp_path / "report" / "ANALYSIS_REPORT.md").read_text()
    assert "Input problems" in report
    assert "9 input problems in 1 file." in report  # the loader's 8 and the unknown event kind
    assert "unknown kind 'mystery\\_event'" in report
    # Counts by reason (markdown-escaped text) and an example row with file and line.
    for row in (r"\| duration\\_ms is not a valid duration \S.*: abc +\| +1 \|", r"\| no type= field +\| +1 \|"):
        assert re.search(row, report), row
    assert "input\\_tokens=ten" in report  # the raw example, escaped
    # The raw text is untrusted: the <script> of the bad duration is shown escaped.
    assert "<script>" not in report
    assert "alert(1)" in report.replace("\\(", "(").replace("\\)", ")")
