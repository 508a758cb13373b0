"""The report package without kernels: the section descriptions and the notebooks made from
them, parameter validation, export and assembly."""

import base64
import json
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from analysis_kit import ParameterError
from analysis_kit.model import Run
from analysis_kit.report import (SECTIONS, TITLES, Param, Part, Section, check_sections, declared_parameters,
                                 names, run_paths, section, validate)
from analysis_kit.report import assemble, export
from analysis_kit.report.display import OMITTED_MIME, Omitted
from analysis_kit.report.headline import Headline
from analysis_kit.report.notebooks import (KERNELSPEC, all_names, notebook, notebook_text, section_notebook,
                                           write_notebooks)
from analysis_kit.report.runner import check_formats, plan, run_report

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
# A 1x1 PNG, so the export has an image to place.
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()


# ----------------------------------------------------------------------------- sections as code

def test_committed_notebooks_are_the_generated_ones():
    """notebooks/ is the output of the section descriptions, byte for byte: regenerate with
    `make notebooks` (python -m analysis_kit.report.notebooks notebooks) after changing them."""
    committed = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    assert committed == sorted(all_names())
    for name in all_names():
        assert (NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8") == notebook_text(name), \
            f"notebooks/{name}.ipynb differs from its description: run `make notebooks`"


def test_every_notebook_has_the_shared_head_and_one_cell_per_part():
    for sec in SECTIONS:
        nb = section_notebook(sec)
        assert nb.metadata.kernelspec == KERNELSPEC
        title, params, setup, *parts = nb.cells
        assert title.cell_type == "markdown" and title.source == f"## {sec.title}\n\n{sec.intro}"
        assert params.metadata.tags == ["parameters"] and setup.metadata.tags == ["remove"]
        if sec.setup:  # a section opening something else than a run: its own setup code
            assert setup.source.endswith(sec.setup) and "sample_run" not in setup.source
        else:
            assert f"sample_run({sec.sample!r})" in setup.source  # the notebook picks its sample run
        assert f"views import {sec.name} as view" in setup.source
        assert len(parts) == 2 * len(sec.parts)
        for (text, code), part in zip(zip(parts[::2], parts[1::2]), sec.parts):
            assert text.source.startswith(f"### {part.title}\n\n") and code.source == part.call
            assert code.source.startswith("view.")  # a cell calls the package, nothing more
        assert all(not getattr(c, "outputs", []) for c in nb.cells)
        assert len({c.id for c in nb.cells}) == len(nb.cells)


def test_parameters_are_declared_once_in_the_description():
    """The parameters cell is the description's parameters, and papermill reads back the
    same names and defaults from it."""
    for sec in SECTIONS:
        path = NOTEBOOKS / f"{sec.name}.ipynb"
        assert declared_parameters(path) == sec.parameters() == declared_parameters(name=sec.name)
    assert section("timeline").parameters()["stall_threshold_s"] == 300.0
    assert {"run_path": None, "load_options": {}, "out_dir": None, "redact": True}.items() \
        <= section("latency").parameters().items()


def test_a_new_section_is_one_entry(tmp_path, monkeypatch):
    """A section described by one entry (and a views module) gets a complete notebook,
    validated parameters and its has-something-to-say test."""
    views = tmp_path / "my_views.py"
    views.write_text("from analysis_kit.report.display import Omitted\n"
                     "def has_content(run):\n    return None if len(run.tasks) else 'no tasks'\n"
                     "def count(run, top):\n    return Omitted('nothing') if not len(run.tasks) else len(run.tasks) + top\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = Section("tasks", "Tasks", "How many tasks.", sample="maseval", views="my_views",
                    params=(Param("top", 3, "a number"),),
                    parts=(Part("Count", "The count.", "view.count(run, top)"),))
    nb = section_notebook(entry)
    assert "top = 3  # a number" in nb.cells[1].source
    assert "from my_views" not in nb.cells[2].source and "import my_views as view" in nb.cells[2].source
    assert validate(entry.parameters(), {"top": 5}) == {"top": 5}
    with pytest.raises(ParameterError, match="top='5'"):
        validate(entry.parameters(), {"top": "5"})
    assert entry.has_content(Run()) == "no tasks"
    assert entry.has_content(Run(tasks=pd.DataFrame({"task_id": ["a"]}))) is None
    # A section that opens something else than a run (a run store by directory) says so in
    # its entry too: its own parameters and setup code, no run_path.
    store = Section("runs", "Runs", "A leaderboard.", sample="maseval", views="my_views", common=False,
                    params=(Param("store_dir", None, "a run store folder"),), setup="store = view.open(store_dir)",
                    parts=(Part("Board", "The board.", "view.board(store)"),))
    nb = section_notebook(store)
    assert store.parameters() == {"store_dir": None}
    assert nb.cells[2].source.endswith("store = view.open(store_dir)") and "run_path" not in nb.cells[2].source


def test_explore_notebook_shows_the_explorers_in_tabs():
    nb = notebook("explore")
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "explorers = widgets.explore(run, run_id=run_id)\nexplorers" in code
    assert "sample_run('tau2_results')" in code
    assert "tabs" in nb.cells[0].source.lower()


def test_write_notebooks_keeps_a_users_copy_unless_asked(tmp_path):
    (tmp_path / "latency.ipynb").write_text("mine")
    paths = write_notebooks(tmp_path, overwrite=False)
    assert len(paths) == len(all_names()) and (tmp_path / "latency.ipynb").read_text() == "mine"
    assert json.loads((tmp_path / "cost.ipynb").read_text())["metadata"]["kernelspec"]["name"] == "analysis-kit"
    write_notebooks(tmp_path, ["latency"])
    assert (tmp_path / "latency.ipynb").read_text() == notebook_text("latency")


def test_the_report_package_does_not_reach_into_the_repository_or_the_samples():
    """Installed, the kit has no notebooks/ or sample_logs/ next to it: the report makes its
    notebooks from the descriptions, and only the notebooks pick sample runs."""
    package = ROOT / "analysis_kit" / "report"
    for path in package.rglob("*.py"):
        text = path.read_text()
        assert "sample_logs" not in text.replace("sample_logs/", "") or "doctest: +SKIP" in text, path
        assert "parents[2]" not in text and "REPO_ROOT" not in text, path
        assert "from ..samples" not in text and "from ...samples" not in text, path


# ----------------------------------------------------------------------------- validation and plans

def test_check_sections_orders_and_rejects():
    assert check_sections(["problems", "overview"]) == ["overview", "problems"]
    assert check_sections(None) == names() == [s.name for s in SECTIONS if s.scope == "run"]
    assert TITLES["cost"] == "Cost and tokens" and TITLES["runs"] == "Runs"
    with pytest.raises(ParameterError, match="unknown section.*'latencyy'"):
        check_sections(["latencyy"])


def test_sections_have_a_scope_and_a_run_report_never_runs_a_store_section():
    """The Runs section opens a run store: it is no default section of a run's report, and
    naming it there (or a run's section in a store's report) says which command to use."""
    assert names("store") == ["runs"] == check_sections(None, scope="store")
    assert "runs" not in names() and {"trace", "massgen"} <= set(names())
    with pytest.raises(ParameterError, match="'runs' report on a run store: analysis-kit report --store DIR"):
        check_sections(["overview", "runs"])
    with pytest.raises(ParameterError, match="'latency' report on a run: analysis-kit report PATH"):
        check_sections(["latency"], scope="store")
    runs = section("runs")
    assert not runs.common and set(runs.parameters()) == {"store_dir", "where", "redact", "out_dir"}
    assert runs.parameters()["store_dir"] is None and runs.parameters()["where"] is None


def test_check_formats():
    assert check_formats("md") == ("md",)
    with pytest.raises(ParameterError, match="pdf"):
        check_formats("md,pdf")


def test_run_paths_missing_and_empty(tmp_path):
    run = tmp_path / "run.log"
    run.write_text("x")
    assert run_paths(str(run)) == [str(run.resolve())]
    with pytest.raises(ParameterError, match="run path not found: '.*nope'"):
        run_paths([str(run), str(tmp_path / "nope")])
    with pytest.raises(ParameterError, match="empty"):
        run_paths([])
    with pytest.raises(ParameterError, match="no run_path given"):
        run_paths(None)


def test_validate_rejects_unknown_parameter_and_wrong_type(tmp_path):
    declared = section("timeline").parameters()
    assert validate(declared, {"stall_threshold_s": 60, "task_id": "t1"}) == {"stall_threshold_s": 60, "task_id": "t1"}
    with pytest.raises(ParameterError, match="unknown parameter.*stall_treshold_s"):
        validate(declared, {"stall_treshold_s": 60})
    with pytest.raises(ParameterError, match="stall_threshold_s='60'"):
        validate(declared, {"stall_threshold_s": "60"})  # typed values only: no -p guessing
    with pytest.raises(ParameterError, match="redact=1"):
        validate(declared, {"redact": 1})
    with pytest.raises(ParameterError, match="load_options=.turn=2."):
        validate(declared, {"load_options": "turn=2"})
    with pytest.raises(ParameterError, match="run path not found"):
        validate(declared, {"run_path": str(tmp_path / "missing")})


def test_plan_gives_options_to_the_sections_that_declare_them_and_load_options_to_all(tmp_path):
    run = tmp_path / "r.log"
    run.write_text("x")
    planned = plan([run], ["overview", "timeline"], options={"task_id": "7"}, load_options={"turn": 2},
                   out_dir=tmp_path)
    assert isinstance(planned["overview"][0], nbformat.NotebookNode)  # made from the description
    assert "task_id" not in planned["overview"][1]
    assert planned["timeline"][1] == {"run_path": str(run.resolve()), "out_dir": str(tmp_path.resolve()),
                                      "redact": True, "load_options": {"turn": 2}, "task_id": "7"}


def test_plan_tells_a_section_which_others_the_report_holds(tmp_path):
    """The MassGen section names tables other sections show instead of repeating them: the
    plan gives it the other sections chosen (run_report then keeps those that run)."""
    run = tmp_path / "r.log"
    run.write_text("x")
    planned = plan([run], ["timeline", "coordination", "massgen"], out_dir=tmp_path)
    assert planned["massgen"][1]["shown_elsewhere"] == ["timeline", "coordination"]
    assert "shown_elsewhere" not in planned["coordination"][1]
    assert plan([run], ["massgen"], out_dir=tmp_path)["massgen"][1]["shown_elsewhere"] == []
    assert section("massgen").parameters()["shown_elsewhere"] == []  # a notebook alone shows everything


def test_plan_with_a_folder_of_ones_own_notebooks(tmp_path):
    run = tmp_path / "r.log"
    run.write_text("x")
    folder = tmp_path / "nbs"
    write_notebooks(folder, ["latency"])
    planned = plan([run], ["latency"], notebooks=folder)
    assert planned["latency"][0] == folder / "latency.ipynb"
    with pytest.raises(ParameterError, match="no notebook for section 'overview'"):
        plan([run], ["overview"], notebooks=folder)


def test_run_report_rejects_bad_parameters_before_running_anything(tmp_path):
    run = tmp_path / "r.log"
    run.write_text("x")
    out = tmp_path / "out"
    with pytest.raises(ParameterError, match="unknown parameter.*colour"):
        run_report([run], out, options={"colour": "red"})
    with pytest.raises(ParameterError, match="no chosen section"):
        run_report([run], out, sections=["overview"], options={"task_id": "1"})
    with pytest.raises(ParameterError, match="run path not found"):
        run_report([tmp_path / "missing.log"], out)
    with pytest.raises(ParameterError, match="load_options must be a dict"):
        run_report([run], out, load_options=["turn"])
    assert not out.exists()  # nothing ran, nothing was written


# ----------------------------------------------------------------------------- export

def _executed_notebook(path: Path) -> Path:
    """A hand-made 'executed' notebook holding every kind of output the export must handle."""
    nb = new_notebook()
    params = new_code_cell("run_path = None")
    params.metadata.tags = ["parameters"]
    hidden = new_code_cell("secret_setup()", outputs=[new_output("stream", name="stdout", text="hidden\n")])
    hidden.metadata.tags = ["remove"]
    table = new_code_cell("show(df)", outputs=[new_output("display_data", data={
        "text/markdown": "| a |\n|:--|\n| x |\n", "text/html": "<table><tr><td>x</td></tr></table>",
        "text/plain": "table"})])
    hostile = new_code_cell("print(msg)", outputs=[
        new_output("stream", name="stdout", text="<script>window.__ak_pwned=1</script> Bearer abcdefgh12345678\n"),
        new_output("stream", name="stderr", text="FutureWarning: noise\n"),
        new_output("execute_result", data={"text/plain": "<img src=x onerror=alert(1)>"}, execution_count=3),
    ])
    figure = new_code_cell("plot()", outputs=[new_output("display_data", data={"image/png": PNG,
                                                                              "text/plain": "<Figure>"})])
    nb.cells = [new_markdown_cell("## Latency\n\nSome text."), params, hidden, table, hostile, figure]
    nbformat.write(nb, path)
    return path


def test_export_markdown_hides_inputs_escapes_text_and_places_images(tmp_path):
    nb = _executed_notebook(tmp_path / "latency.ipynb")
    md = export.to_markdown(nb, "latency", tmp_path / "out")
    assert md.startswith("## Latency")
    assert "show(df)" not in md and "run_path" not in md and "hidden" not in md
    assert "| a |" in md and "<table>" not in md  # the markdown table, not the HTML
    assert "<script" not in md and "<img" not in md and "abcdefgh12345678" not in md
    assert "FutureWarning" not in md
    assert "![png](assets/latency/output_3_0.png)" in md
    assert (tmp_path / "out/assets/latency/output_3_0.png").read_bytes()[:4] == b"\x89PNG"


def test_export_html_is_a_fragment_with_inline_images_and_escaped_text(tmp_path):
    page = export.to_html(_executed_notebook(tmp_path / "latency.ipynb"))
    assert "<html" not in page.lower() and "<script" not in page.lower()
    assert "&lt;script&gt;window.__ak_pwned=1&lt;/script&gt;" in page
    assert "Bearer [REDACTED]" in page
    assert 'src="data:image/png;base64,' in page
    assert "<table><tr><td>x</td></tr></table>" in page


def _omitted_output(reason: str):
    return new_output("display_data", data=Omitted(reason)._repr_mimebundle_())


def test_export_leaves_out_parts_with_nothing_to_say_and_names_them(tmp_path):
    shown = new_code_cell("x", outputs=[new_output("display_data", data={"text/markdown": "*some latency*"})])
    only_here = new_code_cell("view.headline(run)", outputs=[new_output("display_data", data={"text/markdown": "HEAD"})],
                              metadata={"tags": ["ak-notebook-only"]})
    nb = new_notebook(cells=[
        new_markdown_cell("## Latency"),
        new_markdown_cell("### Headline\n\nFirst.", metadata={"tags": ["ak-notebook-only"]}), only_here,
        new_markdown_cell("### By kind\n\nPercentiles."), shown,
        new_markdown_cell("### Time per step\n\nSteps."), new_code_cell("y", outputs=[_omitted_output("no step events")]),
        new_markdown_cell("### Slowest calls\n\nThe ten longest."), new_code_cell("z"),
        new_markdown_cell("### Notes"),
    ])
    path = tmp_path / "s.ipynb"
    nbformat.write(nb, path)
    assert export.omitted_parts(path) == [("Time per step", "no step events")]
    md = export.to_markdown(path, "latency", tmp_path)
    assert "### By kind" in md and "some latency" in md
    assert "Time per step" not in md and "no step events" not in md  # named once, at the report's end
    assert "Slowest calls" not in md  # its only cell showed nothing
    assert "HEAD" not in md and "Headline" not in md  # on the report's first page already
    assert "### Notes" in md  # a heading with no code cells under it is prose, kept
    assert OMITTED_MIME not in export.to_html(path)


# ----------------------------------------------------------------------------- assembly

def _results():
    return [
        assemble.SectionResult("overview", ok=True, markdown="## Overview\n\nfine\n", html="<h2>Overview</h2>",
                               seconds=1.25, omitted=[("pass^k", "one trial per task")]),
        assemble.SectionResult("latency", ok=False, error="ValueError: <script>x</script> sk-abcdefghijklmnop1234",
                               seconds=0.5),
        assemble.SectionResult("comparison", skipped="one run: nothing to compare it with"),
    ]


def test_assemble_puts_the_answer_first_and_timings_last(tmp_path):
    run = Run(meta={"run_id": "r<1>"}, tasks=pd.DataFrame({"task_id": list("abcd"), "success": [True] * 3 + [False]}))
    front = assemble.Front(runs=[("r<1>", "/runs/a<b>.log")],
                           headline=Headline(run, sections={"overview": "Overview"}))
    md_path, html_path = assemble.write(tmp_path, _results(), front)
    md, page = md_path.read_text(), html_path.read_text()
    order = [md.index(s) for s in ("Run: **r&lt;1&gt;**", "| **[Pass rate](#overview)** | 75.0%", "## Overview",
                                   "## Latency", "## Not in this report", "## Section timings")]
    assert order == sorted(order)
    assert "1 of 2 sections ran, **1 failed**" in md  # the left-out section is not counted as run
    assert "- **Comparison**: one run: nothing to compare it with" in md
    assert "- **Overview: pass^k**: one trial per task" in md.replace("\\^", "^")
    timings = md[md.index("## Section timings"):]
    assert "1.2 s" in timings and "500 ms" in timings and "Comparison" not in timings
    assert "## Latency\n\n**This section failed.**" in md
    assert "ValueError: &lt;script&gt;x&lt;/script&gt; [REDACTED]</pre>" in md
    assert '<a href="#section-overview">Pass rate</a>' in page and 'id="section-overview"' in page
    assert page.index("ak-headline") < page.index('id="section-overview"') < page.index('id="timings"')
    assert "<script" not in page and "&lt;script&gt;x&lt;/script&gt; [REDACTED]" in page
    assert "default-src &#x27;none&#x27;" in page or "default-src 'none'" in page
    assert "a&lt;b&gt;.log" in page and "a&lt;b&gt;.log" in md


def test_report_css_never_breaks_a_word_in_a_table():
    css = (ROOT / "analysis_kit" / "report" / "report.css").read_text()
    cells = css[css.index("th, td {"):]
    cells = cells[:cells.index("}")]
    assert "anywhere" not in cells and "break-all" not in cells
    assert "word-break: normal" in cells and "overflow-wrap: normal" in cells


def test_cli_lists_the_sections_from_the_description():
    from analysis_kit.cli import build_parser

    help_text = build_parser()._subparsers._group_actions[0].choices["report"].format_help()
    assert ", ".join(names()) in " ".join(help_text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
