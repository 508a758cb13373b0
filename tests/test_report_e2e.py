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
from analysis_kit import formatting as fmt
from analysis_kit.analyses import failures as failures_mod
from analysis_kit.analyses import overview as overview_mod
from analysis_kit.report import TITLES, run_report
from analysis_kit.report.execute import execute
from analysis_kit.report.notebooks import write_notebooks
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


RAN = ["overview", "latency", "timeline", "cost", "failures", "conversations"]
LEFT_OUT = {"trace": "no span ids in the events: tau2_results records no span hierarchy",
            "coordination": "not a multi-agent run", "massgen": "not a MassGen log directory (format tau2_results)",
            "comparison": "one run", "problems": "none: every line"}


def test_full_report_writes_the_sections_with_something_to_say(full):
    result, _ = full
    assert result.ok, [(s.section, s.error) for s in result.sections]
    assert [f.name for f in result.files] == ["ANALYSIS_REPORT.md", "ANALYSIS_REPORT.html"]
    assert [s.section for s in result.sections if s.ran] == RAN
    assert {k: v.split(":")[0] for k, v in result.skipped.items()}.keys() == LEFT_OUT.keys()
    for section in RAN:
        executed = nbformat.read(result.out_dir / "notebooks" / f"{section}.ipynb", as_version=4)
        assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    for section in LEFT_OUT:
        assert not (result.out_dir / "notebooks" / f"{section}.ipynb").exists()  # never run
    md = _md(result)
    headings = re.findall(r"^## (.+)$", md, flags=re.M)
    assert headings == [TITLES[s] for s in RAN] + ["Not in this report", "Section timings"]
    for link in re.findall(r"!\[png\]\((assets/[^)]+)\)", md):
        assert (result.out_dir / link).stat().st_size > 1000, link
    assert {p.name for p in (result.out_dir / "assets").iterdir()} >= {"latency", "timeline"}


def test_full_report_opens_with_the_answer_and_names_what_it_left_out(full):
    result, run = full
    md = _md(result)
    head = md[:md.index("\n## ")]
    totals = overview_mod.totals(run)
    assert f"| **[Pass rate](#overview)** | {fmt.percent(totals['pass_rate'])} \\(29 of 36; 95% interval" in head
    assert "| **[Tasks](#overview)** | 12 tasks × 3 trials = 36 attempts |" in head
    assert f"| **[Cost](#cost-and-tokens)** | \\{fmt.cost(totals['cost_usd'])} reported |" in head
    assert "**[Slowest model \\(p90\\)](#latency)** | gpt-4.1-mini: p90 7.4 s" in head
    assert "**Input problems** | none: every line of the input was used" in head  # no section: no link
    left_out = md[md.index("## Not in this report"):md.index("## Section timings")]
    for section, reason in LEFT_OUT.items():
        assert f"- **{TITLES[section]}**: {escape_markdown(reason, redact_secrets=False)}" in left_out
    assert "- **Overview: pass^k**" not in left_out.replace("\\^", "^")  # three trials: pass^k is shown
    assert "- **Latency: Time per step**: no step events in this run" in left_out
    assert "### Time per step" not in md and "### pass^k" in md.replace("\\^", "^")


def test_full_report_shows_the_runs_figures(full):
    result, run = full
    md = _md(result)
    totals = overview_mod.totals(run)
    passed = int(run.tasks["success"].fillna(False).sum())
    assert (totals["successes"], totals["tasks"]) == (passed, len(run.tasks))
    assert f"{passed} of {len(run.tasks)} tasks passed \\({passed / len(run.tasks):.1%}\\)" in md
    assert "e+0" not in md and "nan" not in md.lower().replace("nano", "")  # no scientific notation, no NaN
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


@pytest.mark.parametrize("form, sections", [
    ("tau2_profile", ["latency", "problems"]),
    ("maseval", ["cost", "conversations"]),
    ("massgen", ["timeline", "coordination"]),
    ("convex", ["overview", "failures"]),
])
def test_key_sections_of_each_format(samples, tmp_path, form, sections):
    result = run_report([samples[form]], tmp_path, sections=sections, formats="md", progress=False)
    assert result.ok, [(s.section, s.error) for s in result.sections]
    md = _md(result)
    ran = [s for s in sections if s not in result.skipped]
    assert "<script" not in md and re.findall(r"^## (.+)$", md, flags=re.M)[:len(ran)] == [TITLES[s] for s in ran]
    run = ak.load(samples[form])
    if form == "tau2_profile":
        expert = int((run.events["kind"] == "expert_call").sum())
        assert re.search(rf"\| expert\\_call\s+\|\s+{expert:,} \|", md)
        assert ("- **Input problems**: none: every line of the input was used" in md) == run.problems.empty
    elif form == "maseval":
        assert escape_markdown(fmt_cost := fmt.cost(overview_mod.totals(run)["cost_usd"])) in md, fmt_cost
        assert escape_markdown(str(run.tasks["task_id"].iloc[0]), line_markers=False) in md
    elif form == "massgen":
        assert f"winner: {escape_markdown(run.meta['winner'])}" in md
        assert "window.\\_\\_ak\\_pwned" in md  # the hostile vote/answer text, escaped
        n_rounds = int((run.events["kind"] == "round").sum())
        assert re.search(r"\|\s+tool wall\s+\|", md) and n_rounds > 0  # the per-round table of a multi-agent run
    else:
        by_step = failures_mod.failures_by(run, by="step")
        top = by_step.sort_values("count", ascending=False).iloc[0]
        assert re.search(rf"\| {re.escape(escape_markdown(top['step']))}\s+\|\s+{int(top['count'])} \|", md)


def test_report_of_the_otlp_sample_has_the_trace_section(samples, tmp_path):
    """Spans: the Trace section shows the three slowest traces as waterfalls, self time by
    span name and the slowest trace's span tree; the MassGen section says why it is left out."""
    from analysis_kit.analyses import traces

    result = run_report([samples["otlp"]], tmp_path, sections=["trace", "massgen"], progress=False)
    assert result.ok and result.skipped == {"massgen": "not a MassGen log directory (format otlp)"}
    md = _md(result)
    body = md[md.index("## Trace"):md.index("## Not in this report")]
    assert re.findall(r"^### (.+)$", body, flags=re.M) == ["Slowest traces", "Self time by span name", "Span tree"]
    run = ak.load(samples["otlp"])
    slowest = traces.slowest_traces(run, n=3)
    for task, root in zip(slowest["task_id"], slowest["root"]):
        assert f"**task {task}: {escape_markdown(root)}**" in body
    assert body.count("](assets/trace/") == 4  # three waterfalls and the self-time bars
    top = slowest["task_id"].iloc[0]
    assert f"**task {top}: {int(slowest['spans'].iloc[0])} spans**" in body  # the tree of the slowest
    assert "- **MassGen**: not a MassGen log directory \\(format otlp\\)" in md
    page = (tmp_path / "ANALYSIS_REPORT.html").read_text()
    assert page.count('src="data:image/png;base64,') == 4 and '<section id="section-trace">' in page


def test_report_of_the_massgen_sample_has_the_massgen_section(samples, tmp_path):
    """The MassGen section follows the skill's template headings; tables the Coordination
    section of this report shows are named, those of sections it lacks (Timeline) shown."""
    from analysis_kit.report.massgen import TEMPLATE

    result = run_report([samples["massgen"]], tmp_path, sections=["coordination", "massgen", "trace", "problems"],
                        formats="md", progress=False)
    # problems chosen but left out (every line was used): the appendix shows its own "None found."
    assert result.ok and set(result.skipped) == {"trace", "problems"}, [(s.section, s.error) for s in result.sections]
    assert "Shown in the Input problems" not in _md(result)
    assert re.search(r"\*\*Input Problems\*\*\s+\*None found\.\*", _md(result))
    md = _md(result)
    body = md[md.index("## MassGen"):md.index("## Not in this report")]
    assert re.findall(r"^### (.+)$", body, flags=re.M) == [h.title for h in TEMPLATE]
    assert "Shown in the Coordination section \\(Votes\\)." in body
    assert "Shown in the Timeline" not in body and "**Per-Round Timing \\(Sorted by Agent\\)**" in body
    assert "<script" not in md and "window.\\_\\_ak\\_pwned" in md
    assert "- **Trace**: no span ids in the events: massgen records no span hierarchy" in md


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
    write_notebooks(notebooks, ["overview"])
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


# Every word (a run of letters and digits) of every table cell on one line: a word split
# over two lines has two client rects (or one rect taller than a line). Returns the words
# that are not. A line may still break at punctuation, as browsers do ("a/b", "x)<y").
BROKEN_WORDS_JS = """
() => {
  const broken = [];
  for (const cell of document.querySelectorAll('td, th')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const re = /[\\p{L}\\p{N}_]+/gu;
      let m;
      while ((m = re.exec(node.data)) !== null) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const rects = Array.from(range.getClientRects()).filter(r => r.width > 0);
        const lineHeight = parseFloat(getComputedStyle(cell).lineHeight) || 20;
        if (rects.length > 1 || (rects.length === 1 && rects[0].height > lineHeight * 1.6)) broken.push(m[0]);
      }
    }
  }
  return broken;
}
"""


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
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto((result.out_dir / "ANALYSIS_REPORT.html").as_uri())
            page.wait_for_load_state("load")
            tables = page.locator("table").count()
            widths = page.evaluate("Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)")
            pwned = page.evaluate("typeof window.__ak_pwned")
            text = page.inner_text("body")
            first_heading = page.evaluate("document.querySelector('h2').closest('section').id")
            headline_above = page.evaluate(
                "document.querySelector('table.ak-headline').getBoundingClientRect().top"
                " < document.querySelector('h2').getBoundingClientRect().top")
            links = page.eval_on_selector_all("table.ak-headline a", "els => els.map(e => e.getAttribute('href'))")
            targets = page.evaluate("hrefs => hrefs.map(h => !!document.querySelector(h))", links)
            page.click("table.ak-headline a[href='#section-latency']")
            latency_top = page.evaluate("document.getElementById('section-latency').getBoundingClientRect().top")
            broken = page.evaluate(BROKEN_WORDS_JS)
            last = page.evaluate("Array.from(document.querySelectorAll('h2')).map(h => h.innerText).slice(-2)")
        finally:
            browser.close()
    assert errors == []
    assert tables >= 15
    assert len(widths) >= 4 and all(w > 0 for w in widths), widths
    assert pwned == "undefined"
    assert "<script>window.__ak_pwned = 1; alert('xss')</script>" in text  # shown as text, not run
    assert first_heading == "section-overview" and headline_above  # the answer first
    assert len(links) >= 8 and all(targets), dict(zip(links, targets))  # every fact links to its section
    assert abs(latency_top) < 5  # the click scrolled the Latency section to the top
    assert broken == [], broken[:20]  # no table cell breaks a word
    assert last == ["Not in this report", "Section timings"]


@pytest.mark.parametrize("chosen", [["overview", "comparison"]])
def test_report_of_two_runs_compares_them_with_one_headline_column_each(samples, tmp_path, chosen):
    pair = [samples["tau2_results"], samples["tau2_results_rerun"]]
    result = run_report(pair, tmp_path, sections=chosen, formats="md", progress=False)
    assert result.ok and not result.skipped, [(s.section, s.error, s.skipped) for s in result.sections]
    md = _md(result)
    ids = ak.load_runs(pair, progress=False).run_ids
    assert md.splitlines()[2].startswith(f"Runs: **{escape_markdown(ids[0])}**")
    header = next(line for line in md.splitlines() if line.startswith("| | "))
    assert header == "| | " + " | ".join(escape_markdown(i, line_markers=False) for i in ids) + " |"
    assert "## Comparison" in md and "pass\\_rate" in md


def test_option_flags_reach_the_loader_in_the_parent_and_in_every_section(samples, tmp_path, env):
    """`--option chunksize=7` (a tau2 profile loader option) is passed to load() in the report
    process and, as the load_options parameter, to each section's notebook."""
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "analysis_kit.cli", "report", str(samples["tau2_profile"]), "--out", str(out),
         "--sections", "overview", "latency", "--format", "md", "--option", "chunksize=7"],
        env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for section in ("overview", "latency"):
        executed = nbformat.read(out / "notebooks" / f"{section}.ipynb", as_version=4)
        injected = next(c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", []))
        assert 'load_options = {"chunksize": 7}' in injected.source or "load_options = {'chunksize': 7}" in injected.source
    bad = subprocess.run(
        [sys.executable, "-m", "analysis_kit.cli", "report", str(samples["tau2_profile"]), "--out", str(tmp_path / "bad"),
         "--sections", "overview", "--option", "chunksize=0"],
        env=env, capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "chunksize" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "bad" / "ANALYSIS_REPORT.md").exists()  # stopped before any section ran
