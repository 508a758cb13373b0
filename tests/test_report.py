"""The report package without kernels: sections, parameter validation, export and assembly."""

import base64
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from analysis_kit import ParameterError
from analysis_kit.report import (SECTIONS, check_sections, declared_parameters, default_run,
                                 notebook_path, run_paths, validate)
from analysis_kit.report import assemble, export
from analysis_kit.report.runner import check_formats, plan, run_report

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
# A 1x1 PNG, so the export has an image to place.
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()


def test_every_section_has_a_notebook_with_the_common_parameters():
    for section in SECTIONS:
        declared = declared_parameters(notebook_path(section, NOTEBOOKS))
        assert {"run_path": None, "out_dir": None, "redact": True}.items() <= declared.items(), section
    assert declared_parameters(NOTEBOOKS / "timeline.ipynb")["stall_threshold_s"] == 300.0


def test_notebooks_are_committed_without_outputs_on_the_analysis_kit_kernel():
    for section in SECTIONS:
        nb = nbformat.read(NOTEBOOKS / f"{section}.ipynb", as_version=4)
        assert nb.metadata.kernelspec.name == "analysis-kit"
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), section
        assert [c for c in code if "parameters" in c.metadata.get("tags", [])], section
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("## ")


def test_check_sections_orders_and_rejects():
    assert check_sections(["problems", "overview"]) == ["overview", "problems"]
    assert check_sections(None) == list(SECTIONS)
    with pytest.raises(ParameterError, match="unknown section.*'latencyy'"):
        check_sections(["latencyy"])


def test_check_formats():
    assert check_formats("md") == ("md",)
    with pytest.raises(ParameterError, match="pdf"):
        check_formats("md,pdf")


def test_default_run_reads_samples_json(tmp_path):
    (tmp_path / "samples.json").write_text(json.dumps(
        {"tau2_profile": "tau2_profile/profile.log", "tau2_results": "r/x.json", "tau2_results_rerun": "r2/y.json"}))
    assert default_run("latency", tmp_path) == str((tmp_path / "tau2_profile/profile.log").resolve())
    assert default_run("comparison", tmp_path) == [str((tmp_path / "r/x.json").resolve()),
                                                   str((tmp_path / "r2/y.json").resolve())]
    with pytest.raises(ParameterError, match="no massgen run"):
        default_run("coordination", tmp_path)
    with pytest.raises(ParameterError, match="no sample index"):
        default_run("latency", tmp_path / "nowhere")


def test_run_paths_missing_and_empty(tmp_path):
    run = tmp_path / "run.log"
    run.write_text("x")
    assert run_paths(str(run)) == [str(run.resolve())]
    with pytest.raises(ParameterError, match="run path not found: '.*nope'"):
        run_paths([str(run), str(tmp_path / "nope")])
    with pytest.raises(ParameterError, match="empty"):
        run_paths([])


def test_validate_rejects_unknown_parameter_and_wrong_type(tmp_path):
    nb = NOTEBOOKS / "timeline.ipynb"
    assert validate(nb, {"stall_threshold_s": 60, "task_id": "t1"}) == {"stall_threshold_s": 60, "task_id": "t1"}
    with pytest.raises(ParameterError, match="unknown parameter.*stall_treshold_s"):
        validate(nb, {"stall_treshold_s": 60})
    with pytest.raises(ParameterError, match="stall_threshold_s='60'"):
        validate(nb, {"stall_threshold_s": "60"})  # typed values only: no -p guessing
    with pytest.raises(ParameterError, match="redact=1"):
        validate(nb, {"redact": 1})
    with pytest.raises(ParameterError, match="run path not found"):
        validate(nb, {"run_path": str(tmp_path / "missing")})


def test_plan_gives_options_only_to_sections_that_declare_them(tmp_path):
    run = tmp_path / "r.log"
    run.write_text("x")
    planned = plan([run], ["overview", "timeline"], options={"task_id": "7"}, out_dir=tmp_path,
                   notebooks=NOTEBOOKS)
    assert "task_id" not in planned["overview"][1]
    assert planned["timeline"][1] == {"run_path": str(run.resolve()), "out_dir": str(tmp_path.resolve()),
                                      "redact": True, "task_id": "7"}


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
    assert not out.exists()  # nothing ran, nothing was written


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


def test_assemble_reports_failures_escaped_with_a_strict_csp(tmp_path):
    results = [
        assemble.SectionResult("overview", ok=True, markdown="## Overview\n\nfine\n", html="<h2>Overview</h2>"),
        assemble.SectionResult("latency", ok=False, error="ValueError: <script>x</script> sk-abcdefghijklmnop1234"),
    ]
    files = assemble.write(tmp_path, results, ["/runs/a<b>.log"])
    md, page = (f.read_text() for f in files)
    assert [f.name for f in files] == ["ANALYSIS_REPORT.md", "ANALYSIS_REPORT.html"]
    assert "1 of 2 sections ran, **1 failed**" in md
    assert "## Latency\n\n**This section failed.**" in md
    assert "ValueError: &lt;script&gt;x&lt;/script&gt; [REDACTED]</pre>" in md
    assert "<script" not in page and "&lt;script&gt;x&lt;/script&gt; [REDACTED]" in page
    assert "default-src &#x27;none&#x27;" in page or "default-src 'none'" in page
    assert "a&lt;b&gt;.log" in page and "a&lt;b&gt;.log" in md


def test_export_drops_subsections_whose_cells_showed_nothing(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    from analysis_kit.report import export

    shown = new_code_cell("x", outputs=[new_output("display_data", data={"text/markdown": "*no latency data*"})])
    nb = new_notebook(cells=[
        new_markdown_cell("## Latency"),
        new_markdown_cell("### By kind\n\nPercentiles."), shown,
        new_markdown_cell("### Slowest calls\n\nThe ten longest."), new_code_cell("y"),
        new_markdown_cell("### Notes"),
    ])
    path = tmp_path / "s.ipynb"
    nbformat.write(nb, path)
    md = export.to_markdown(path, "latency", tmp_path)
    assert "### By kind" in md and "no latency data" in md
    assert "Slowest calls" not in md  # its only cell showed nothing
    assert "### Notes" in md  # a heading with no code cells under it is prose, kept
