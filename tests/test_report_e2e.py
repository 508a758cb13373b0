"""End-to-end reports: papermill runs the real section notebooks on the real kernel against
generated sample runs; nbconvert exports; the HTML is opened in headless Chromium."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import analysis_kit as ak
from analysis_kit.analyses import failures as failures_mod
from analysis_kit.analyses import overview as overview_mod
from analysis_kit.report import SECTIONS, TITLES, run_report
from analysis_kit.report.execute import execute
from analysis_kit.safe import escape_markdown

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
HOSTILE_TASK = "11"  # the tau2_results sample task whose messages carry <script> and <img onerror>


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Jupyter, IPython, matplotlib and the parse cache in temp dirs, never $HOME."""
    base = tmp_path_factory.mktemp("jupyter")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "MPLCONFIGDIR"):
            mp.setenv(var, str(base / var.lower()))
        mp.setenv("ANALYSIS_KIT_CACHE_DIR", str(base / "cache"))
        mp.delenv("MPLBACKEND", raising=False)
        yield dict(os.environ)


@pytest.fixture(scope="module")
def samples(env, tmp_path_factory):
    """The bundled sample runs when present, else freshly generated ones."""
    from analysis_kit.samples import sample_paths, write_samples

    bundled = ROOT / "sample_logs"
    if (bundled / "samples.json").exists():
        return sample_paths(bundled)
    base = tmp_path_factory.mktemp("samples")
    write_samples(base)
    return sample_paths(base)


@pytest.fixture(scope="module")
def full(samples, tmp_path_factory):
    """The whole report (every section) of the tau2-bench results sample."""
    out = tmp_path_factory.mktemp("full")
    result = run_report([samples["tau2_results"]], out, options={"task_id": HOSTILE_TASK}, progress=False)
    return result, ak.load(samples["tau2_results"])


def _md(result) -> str:
    return (result.out_dir / "ANALYSIS_REPORT.md").read_text()


def test_full_report_writes_every_section_and_its_files(full):
    result, _ = full
    assert result.ok, [(s.section, s.error) for s in result.sections]
    assert [f.name for f in result.files] == ["ANALYSIS_REPORT.md", "ANALYSIS_REPORT.html"]
    for section in SECTIONS:
        executed = nbformat.read(result.out_dir / "notebooks" / f"{section}.ipynb", as_version=4)
        assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    md = _md(result)
    headings = re.findall(r"^## (.+)$", md, flags=re.M)
    assert headings == [TITLES[s] for s in SECTIONS]
    for link in re.findall(r"!\[png\]\((assets/[^)]+)\)", md):
        assert (result.out_dir / link).stat().st_size > 1000, link
    assert {p.name for p in (result.out_dir / "assets").iterdir()} >= {"latency", "timeline"}


def test_full_report_shows_the_runs_figures(full):
    result, run = full
    md = _md(result)
    totals = overview_mod.totals(run)
    passed = int(run.tasks["success"].fillna(False).sum())
    assert (totals["successes"], totals["tasks"]) == (passed, len(run.tasks))
    assert f"{passed} of {len(run.tasks)} tasks passed \\({passed / len(run.tasks):.1%}\\)" in md
    assert f"task {HOSTILE_TASK}" in md  # the timeline and the transcript of the chosen task
    llm_calls = int((run.events["kind"] == "llm_call").sum())
    assert re.search(rf"\| llm\\_call\s+\|\s+{llm_calls} \|", md), "latency table row for llm_call"


def test_full_report_escapes_hostile_messages_and_redacts_secrets(full):
    result, _ = full
    md = _md(result)
    page = (result.out_dir / "ANALYSIS_REPORT.html").read_text()
    assert "<script" not in md and "<img src=x" not in md
    assert "&lt;script&gt;window.\\_\\_ak\\_pwned" in md  # shown, as text
    assert "&lt;script&gt;window.__ak_pwned" in page
    assert "<script" not in page.lower()
    assert "FAKE0123456789" not in md + page and "[REDACTED]" in page


@pytest.mark.parametrize("fmt, sections", [
    ("tau2_profile", ["latency", "problems"]),
    ("maseval", ["cost", "conversations"]),
    ("massgen", ["timeline", "coordination"]),
    ("convex", ["overview", "failures"]),
])
def test_key_sections_of_each_format(samples, tmp_path, fmt, sections):
    result = run_report([samples[fmt]], tmp_path, sections=sections, formats="md", progress=False)
    assert result.ok, [(s.section, s.error) for s in result.sections]
    md = _md(result)
    assert "<script" not in md and re.findall(r"^## (.+)$", md, flags=re.M) == [TITLES[s] for s in sections]
    run = ak.load(samples[fmt])
    if fmt == "tau2_profile":
        expert = int((run.events["kind"] == "expert_call").sum())
        assert re.search(rf"\| expert\\_call\s+\|\s+{expert} \|", md)
        assert ("this run has no input problems" in md) == run.problems.empty
    elif fmt == "maseval":
        assert f"{overview_mod.totals(run)['cost_usd']:,.3f}" in md
        assert escape_markdown(str(run.tasks["task_id"].iloc[0]), line_markers=False) in md
    elif fmt == "massgen":
        assert f"winner: {escape_markdown(run.meta['winner'])}" in md
        assert "window.\\_\\_ak\\_pwned" in md  # the hostile vote/answer text, escaped
        n_rounds = int((run.events["kind"] == "round").sum())
        assert "tool\\_wall\\_s" in md and n_rounds > 0  # the per-round table of a multi-agent run
        assert "| tool\\_wall\\_s" in md.replace(" ", "").replace("|", "| ", 1) or "tool\\_wall\\_s" in md
    else:
        by_step = failures_mod.failures_by(run, by="step")
        top = by_step.sort_values("count", ascending=False).iloc[0]
        assert re.search(rf"\| {re.escape(escape_markdown(top['step']))}\s+\|\s+{int(top['count'])} \|", md)


def _notebook(path: Path, code: str) -> Path:
    nb = new_notebook()
    params = new_code_cell("run_path = None\nout_dir = None\nredact = True")
    params.metadata.tags = ["parameters"]
    nb.cells = [params, new_code_cell(code)]
    nb.metadata.kernelspec = {"name": "analysis-kit", "display_name": "analysis-kit", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_a_failing_section_does_not_stop_the_others(samples, tmp_path, env):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(ROOT / "notebooks" / "overview.ipynb", notebooks)
    _notebook(notebooks / "latency.ipynb", "raise ValueError('boom <b>bold</b>')")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "analysis_kit.cli", "report", str(samples["tau2_results"]), "--out", str(out),
         "--sections", "overview", "latency", "--format", "md,html"],
        env={**env, "ANALYSIS_KIT_NOTEBOOKS": str(notebooks)}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "latency: FAILED: ValueError: boom <b>bold</b>" in proc.stderr
    md = (out / "ANALYSIS_REPORT.md").read_text()
    assert "1 of 2 sections ran, **1 failed**" in md
    assert "tasks passed" in md  # the overview is all there
    assert "## Latency\n\n**This section failed.**" in md and "ValueError: boom &lt;b&gt;bold&lt;/b&gt;" in md
    assert (out / "notebooks" / "latency.ipynb").exists()  # the failed notebook, with its traceback


def test_a_cell_past_the_timeout_fails_its_section_only(samples, tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _notebook(notebooks / "overview.ipynb", "print('fast')")
    _notebook(notebooks / "latency.ipynb", "import time\ntime.sleep(60)")
    result = run_report([samples["tau2_results"]], tmp_path / "out", sections=["overview", "latency"],
                        timeout=3, jobs=1, notebooks=notebooks, progress=False)
    status = {s.section: (s.ok, s.error) for s in result.sections}
    assert status["overview"] == (True, None)
    assert not status["latency"][0] and status["latency"][1].startswith("CellTimeoutError")


def test_run_path_with_quotes_newlines_and_unicode_reaches_the_notebook_verbatim(samples, tmp_path):
    weird = tmp_path / "run \"q\" 'x'\n${HOME} \\n é✓"
    weird.mkdir()
    target = weird / Path(samples["tau2_results"]).name
    shutil.copy(samples["tau2_results"], target)
    probe = _notebook(tmp_path / "probe.ipynb",
                      "import json, pathlib\n"
                      "pathlib.Path(out_dir, 'seen.json').write_text(json.dumps([run_path, pathlib.Path(run_path).exists()]))")
    execute(probe, tmp_path / "probe.out.ipynb", {"run_path": str(target), "out_dir": str(tmp_path)}, timeout=60)
    assert json.loads((tmp_path / "seen.json").read_text()) == [str(target), True]
    result = run_report([target], tmp_path / "out", sections=["overview"], formats="md", progress=False)
    assert result.ok, result.sections[0].error
    assert "tasks passed" in _md(result)


def test_html_report_renders_in_chromium_and_runs_no_log_script(full):
    if not CHROMIUM.exists():
        pytest.skip(f"no chromium at {CHROMIUM}: the browser test needs a system chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    result, _ = full
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page()
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto((result.out_dir / "ANALYSIS_REPORT.html").as_uri())
            page.wait_for_load_state("load")
            tables = page.locator("table").count()
            widths = page.evaluate("Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)")
            pwned = page.evaluate("typeof window.__ak_pwned")
            text = page.inner_text("body")
        finally:
            browser.close()
    assert errors == []
    assert tables >= 15
    assert len(widths) >= 4 and all(w > 0 for w in widths), widths
    assert pwned == "undefined"
    assert "<script>window.__ak_pwned = 1; alert('xss')</script>" in text  # shown as text, not run
