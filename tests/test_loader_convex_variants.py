"""Report layouts as the analyze-run skill's template comes out of different LLM runs
(issue 10, item 7): the pass rate as "63/66", "95.5%", "63 of 66", in a table row or a code
span; the model and run id in a header table, a bullet list, bold or plain fields, a one-row
table, a run URL or the file path; failures as a table, as ``###`` sections, as bold lines,
as list items, as pasted sub-agent summaries, only in summary tables, or classified by one
sentence for all. Each variant asserts the values found and the problem rows for what the
report does not state.

Every variant describes the same run: claude-opus-4-6 (anthropic), run
``jn7vq2xk8m4p6r9t1w3y5z7b0c2d4f6h``, 63 of 66 evals passed, and these three failures.
"""

from __future__ import annotations

import tempfile
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis_kit.exceptions import LoadError
from analysis_kit.loaders import convex

RUN = "jn7vq2xk8m4p6r9t1w3y5z7b0c2d4f6h"
STANDARD = "reports/anthropic/claude-opus-4-6/jn7vq2xk_2026-03-10.md"
CRONS, PAGINATION, MUTATION = ("000-fundamentals/003-crons", "002-queries/018-pagination_returns_validator",
                               "006-clients/001-use_mutation")
REAL_NAMES = ("anthropic/claude-haiku-4-5/jn7ajdrr_2026-02-06.md", "google/gemini-3-pro-preview/jn728rtz_2026-02-17.md",
              "minimax/minimax-m2.5/jn76ntf9_2026-02-19.md", "openai/gpt-5.2-codex/jn76nmvg_2026-02-11.md",
              "qwen/qwen3.5-plus-02-15/jn78pe46_2026-02-18.md")
# task -> (step, classification): the facts every layout below states in its own way.
FAILURES = {CRONS: ("deploy", "MODEL_FAULT"), PAGINATION: ("tests", "KNOWN_GAP"),
            MUTATION: ("eslint", "OVERLY_STRICT")}


def write(tmp_path: Path, text: str, rel: str = STANDARD) -> Path:
    """Write a variant; every variant must also be detected as a convex report."""
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    assert convex.sniff(path), f"{rel} is not detected as a convex-evals report"
    return path


def facts(run) -> dict[str, tuple]:
    """{task: (step, classification)}, NA as None."""
    return {row.task_id: tuple(None if pd.isna(v) else v for v in (row.step, row.classification))
            for row in run.failures.itertuples()}


def reasons(run) -> list[str]:
    return run.problems["reason"].tolist()


def assert_counts(run, passed=63, total=66):
    assert (run.meta["tasks_passed"], run.meta["tasks_total"], run.meta["tasks_failed"]) == (passed, total, total - passed)
    assert run.summary().iloc[0]["pass_rate"] == pytest.approx(passed / total)


# ------------------------------------------------------------------ the pass rate's shapes

def test_bullets_with_a_fraction_and_a_failure_table(tmp_path):
    run = convex.load(write(tmp_path, f"""
        # Run Analysis: claude-opus-4-6

        - **Run ID**: `{RUN}`
        - **Model**: claude-opus-4-6 (anthropic)
        - **Pass rate**: 63/66 (95.5%)

        ## Failure classification table

        | Eval | Failed step | Classification | One-line reasoning |
        | --- | --- | --- | --- |
        | `000-fundamentals/003-crons` | deploy | MODEL_FAULT | Omitted the empty `{{}}` args. |
        | `002-queries/018-pagination_returns_validator` | tests (33%) | KNOWN_GAP | Missing `splitCursor`. |
        | `006-clients/001-use_mutation` | eslint | OVERLY_STRICT | `no-misused-promises` on onSubmit. |
        """))
    assert_counts(run)
    assert facts(run) == FAILURES
    assert run.meta["convex_run_id"] == RUN and run.meta["models"] == ["claude-opus-4-6"]
    assert run.failures.set_index("task_id").loc[PAGINATION, "tests_passed_pct"] == 33.0
    assert run.failures.set_index("task_id").loc[CRONS, "reasoning"] == "Omitted the empty `{}` args."
    assert run.problems.empty


def test_percentage_with_a_failed_count_gives_the_counts_and_sections(tmp_path):
    # No path identity: the model and run id come from the bold fields only.
    run = convex.load(write(tmp_path, f"""
        # Analysis of the opus run

        **Model:** claude-opus-4-6
        **Run ID:** {RUN}
        **Pass rate:** 95.45%
        **Failed evals:** 3

        ## Per-Failure Analysis

        ### 1. 003-crons (000-fundamentals) -- deploy

        **Classification**: MODEL_FAULT

        Omitted the empty args object.

        ### 2. 018-pagination_returns_validator (002-queries) -- tests (33%)

        **Classification**: KNOWN_GAP

        ### 3. 001-use_mutation (006-clients) -- eslint

        **Classification**: OVERLY_STRICT (config bug)
        """, "notes/opus_run.md"))
    assert_counts(run)  # 95.45% with 3 failed: only 63/66 rounds to it (95.5% would fit 64/67 too)
    assert facts(run) == FAILURES
    assert (run.meta["model"], run.meta["convex_run_id"], run.meta["run_id"]) == ("claude-opus-4-6", RUN, "opus_run")
    assert run.meta["pass_rate_reported"] == 0.9545
    mutation = run.failures.set_index("task_id").loc[MUTATION]
    assert mutation["classification_note"] == "config bug"
    assert run.failures.set_index("task_id").loc[CRONS, "reasoning"] == "Omitted the empty args object."
    assert run.problems.empty


def test_percentage_alone_is_kept_and_the_missing_counts_said(tmp_path):
    path = write(tmp_path, f"""
        # Run Analysis: claude-opus-4-6

        Run ID: {RUN}
        Pass rate: 95.5%

        ## Failures

        - `000-fundamentals/003-crons` (deploy): MODEL_FAULT — omitted the empty args object
        - `002-queries/018-pagination_returns_validator` (tests, 33%): KNOWN_GAP — missing `splitCursor`
        - `006-clients/001-use_mutation` (eslint): OVERLY_STRICT — `no-misused-promises`
        """)
    run = convex.load(path)
    assert facts(run) == FAILURES
    assert run.meta["pass_rate_reported"] == 0.955 and "tasks_total" not in run.meta
    assert pd.isna(run.summary().iloc[0]["pass_rate"])  # the report lists only failures
    assert run.failures.set_index("task_id").loc[CRONS, "reasoning"] == "omitted the empty args object"
    assert run.problems[["line", "reason"]].values.tolist() == [
        [4, "no eval counts found: the pass rate is given only as 95.5%"]]
    with pytest.raises(LoadError, match=r":4: no eval counts found"):
        convex.load(path, strict=True)


def test_percentage_and_a_total_field(tmp_path):
    run = convex.load(write(tmp_path, f"""
        # Run Analysis: claude-opus-4-6

        - Run ID: `{RUN}`
        - Total evals: 66
        - Pass rate: 95.5%

        ## Failures

        - **000-fundamentals/003-crons** — deploy — MODEL_FAULT
        - **002-queries/018-pagination_returns_validator** — tests — KNOWN_GAP
        - **006-clients/001-use_mutation** — eslint — OVERLY_STRICT
        """))
    assert_counts(run)
    assert facts(run) == FAILURES and run.problems.empty


def test_of_phrase_in_a_later_section_and_a_field_table_header(tmp_path):
    run = convex.load(write(tmp_path, f"""
        # Convex evals report

        ## Run Metadata

        | Field | Value |
        |-------|-------|
        | Run ID | `{RUN}` |
        | Model | `anthropic/claude-opus-4-6` |
        | Date | 2026-03-10 |

        ## Overall summary

        **Pass rate:** 63 of 66

        ## Per-Failure Analysis

        ### 000-fundamentals/003-crons — deploy failed

        | Field | Value |
        |-------|-------|
        | **Classification** | MODEL_FAULT |
        | **Error** | `crons.interval expects 4 arguments` |

        ### 002-queries/018-pagination_returns_validator — tests (33% pass)

        | Field | Value |
        |-------|-------|
        | **Classification** | KNOWN_GAP |

        ### 006-clients/001-use_mutation — eslint

        | Field | Value |
        |-------|-------|
        | **Classification** | OVERLY_STRICT |
        """, "notes/report.md"))
    assert_counts(run)
    assert facts(run) == FAILURES
    assert (run.meta["model"], run.meta["convex_run_id"]) == ("anthropic/claude-opus-4-6", RUN)
    assert run.meta["started"] == pd.Timestamp("2026-03-10", tz="UTC")
    assert run.failures.set_index("task_id").loc[CRONS, "error"] == "crons.interval expects 4 arguments"
    assert run.problems.empty


def test_one_row_header_table_and_a_table_with_a_category_column(tmp_path):
    run = convex.load(write(tmp_path, f"""
        # Run report

        | Model | Run ID | Pass rate | Date |
        |---|---|---|---|
        | `claude-opus-4-6` | `{RUN}` | **63/66** | 2026-03-10 |

        ## Failed evals

        | # | Category | Eval | Step | Verdict | Reason |
        |---|---|---|---|---|---|
        | 1 | 000-fundamentals | 003-crons | deploy | Model fault | args |
        | 2 | 002-queries | 018-pagination_returns_validator | tests | Known gap | cursor |
        | 3 | 006-clients | 001-use_mutation | eslint | Overly strict | lint |
        """, "elsewhere/run.md"))
    assert_counts(run)
    assert facts(run) == FAILURES
    assert (run.meta["model"], run.meta["convex_run_id"]) == ("claude-opus-4-6", RUN)
    assert run.failures["reasoning"].tolist() == ["args", "cursor", "lint"]
    assert run.problems.empty


def test_field_and_column_names_with_qualifiers(tmp_path):
    run = convex.load(write(tmp_path, f"""
        # Run Analysis: claude-opus-4-6

        - **Run ID(s):** {RUN}
        - **Overall pass rate (default experiment):** 63/66

        | Name | Failed step(s) | Classification (final) | Reasoning (one line) |
        |---|---|---|---|
        | 000-fundamentals/003-crons | deploy | MODEL_FAULT | args |
        | 002-queries/018-pagination_returns_validator | tests | KNOWN_GAP | cursor |
        | 006-clients/001-use_mutation | eslint | OVERLY_STRICT | lint |
        """))
    assert_counts(run)
    assert facts(run) == FAILURES and run.meta["convex_run_id"] == RUN
    assert run.failures["reasoning"].tolist() == ["args", "cursor", "lint"]
    assert run.problems.empty


def test_code_span_url_title_model_and_pasted_subagent_summaries(tmp_path):
    # The sub-agents' "structured summary" of the skill pasted as it came back.
    run = convex.load(write(tmp_path, f"""
        # Run Analysis: claude-opus-4-6

        Run: [{RUN[:8]}](https://convex-evals.netlify.app/experiment/default/run/{RUN}/evals)
        Pass rate: `63/66`

        ## Failures

        - Eval: 003-crons (000-fundamentals)
        - Failed step: deploy
        - Error: crons.interval expects 4 args
        - Classification: MODEL_FAULT
        - Reasoning: The model omitted the args object.

        - Eval: 018-pagination_returns_validator (002-queries)
        - Failed step: tests
        - Classification: KNOWN_GAP
        - Reasoning: Missing `splitCursor`.

        - Eval: 001-use_mutation (006-clients)
        - Failed step: eslint
        - Classification: OVERLY_STRICT
        - Reasoning: Lint rule too strict.
        """, "notes/pasted.md"))
    assert_counts(run)
    assert facts(run) == FAILURES
    assert (run.meta["model"], run.meta["convex_run_id"]) == ("claude-opus-4-6", RUN)
    crons = run.failures.set_index("task_id").loc[CRONS]
    assert (crons["error"], crons["reasoning"]) == ("crons.interval expects 4 args", "The model omitted the args object.")
    assert run.problems.empty


def test_pass_rate_in_a_sentence_and_run_id_from_the_file_name(tmp_path):
    run = convex.load(write(tmp_path, """
        # claude-opus-4-6, default experiment

        The model passed 63 of 66 evals.

        ## Failures

        **1. 000-fundamentals/003-crons — deploy — MODEL_FAULT**

        Omitted the args object.

        **2. 002-queries/018-pagination_returns_validator — tests — KNOWN_GAP**

        **3. 006-clients/001-use_mutation — eslint — OVERLY_STRICT**
        """))
    assert_counts(run)
    assert facts(run) == FAILURES
    assert run.meta["model"] == "claude-opus-4-6" and run.meta["provider"] == "anthropic"  # from the path
    assert pd.isna(run.meta["convex_run_id"])  # only its prefix is known, from the file name
    assert run.failures.set_index("task_id").loc[CRONS, "reasoning"] == "Omitted the args object."
    assert run.problems.empty


def test_counts_as_passed_and_failed_fields_with_nested_bullets(tmp_path):
    run = convex.load(write(tmp_path, f"""
        # Run Analysis: claude-opus-4-6

        - **Run ID**: {RUN}
        - **Passed**: 63
        - **Failed**: 3

        ## Per-failure analysis

        - **000-fundamentals/003-crons** — deploy
          - **Classification:** MODEL_FAULT
          - **Reasoning:** Omitted the args object.
        - **002-queries/018-pagination_returns_validator** — tests
          - **Classification:** KNOWN_GAP
        - **006-clients/001-use_mutation** — eslint
          - **Classification:** OVERLY_STRICT
        """))
    assert_counts(run)
    assert facts(run) == FAILURES
    assert run.failures.set_index("task_id").loc[CRONS, "reasoning"] == "Omitted the args object."
    assert run.problems.empty


HEADING_SHAPES = {
    "failure_n": "### Failure 1: `003-crons` (000-fundamentals)\n\n**Failed step**: deploy\n\n**Classification**: MODEL_FAULT",
    "category_heading": "## 000-fundamentals\n\n### 003-crons\n\n- **Step:** deploy\n- **Classification:** MODEL_FAULT",
    "prose_class": "### Eval 3 — 000-fundamentals/003-crons (deploy)\n\nClassified as **MODEL_FAULT**: the args are missing.",
    "italic_fields": "### 000-fundamentals/003-crons\n\n*Classification*: Model fault\n\n*Failed step*: deploy (convex dev fail)",
    "eval_field": "### Failure 1\n\n- Eval: `000-fundamentals/003-crons`\n- Step: deploy\n- Classification: `MODEL_FAULT`",
}


@pytest.mark.parametrize("section", HEADING_SHAPES.values(), ids=HEADING_SHAPES.keys())
def test_heading_shapes_of_one_failure(tmp_path, section):
    header = f"# Run Analysis: claude-opus-4-6\n\n- **Run ID**: {RUN}\n- **Pass rate**: 65/66\n\n"
    run = convex.load(write(tmp_path, header + section + "\n"))
    assert facts(run) == {CRONS: ("deploy", "MODEL_FAULT")}
    assert run.problems.empty


# ------------------------------------------------------------------ one sentence for every failure

@pytest.mark.parametrize("sentence", [
    "All 3 failures are MODEL_FAULT: the model does not know the Convex API.",
    "Every failure was classified as **MODEL_FAULT**.",
    "Classification: MODEL_FAULT for all 3 failures.",
    "All failures are genuine model faults.",
])
def test_one_sentence_classifies_every_failure(tmp_path, sentence):
    run = convex.load(write(tmp_path, f"""
        # Run Analysis: claude-opus-4-6

        - **Run ID**: {RUN}
        - **Pass rate**: 63/66

        ## Failures

        {sentence}

        - `000-fundamentals/003-crons` — deploy
        - `002-queries/018-pagination_returns_validator` — tests
        - `006-clients/001-use_mutation` — eslint
        """))
    assert_counts(run)
    assert facts(run) == {task: (step, "MODEL_FAULT") for task, (step, _) in FAILURES.items()}
    assert run.problems.empty


def test_a_sentence_does_not_override_the_classifications_given(tmp_path):
    run = convex.load(write(tmp_path, f"""
        # Run Analysis: claude-opus-4-6

        - **Run ID**: {RUN}
        - **Pass rate**: 63/66

        ## Failures

        - `000-fundamentals/003-crons` — deploy — MODEL_FAULT
        - `002-queries/018-pagination_returns_validator` — tests — KNOWN_GAP
        - `006-clients/001-use_mutation` — eslint

        All 14 MODEL_FAULT failures are genuinely the model's fault; the rest is KNOWN_GAP.
        """))
    assert facts(run)[MUTATION] == ("eslint", None)  # that sentence covers no eval
    assert run.problems[["line", "reason", "raw"]].values.tolist() == [
        [10, "no classification found for 1 of 3 failures", MUTATION]]


def test_sentences_that_disagree_classify_nothing(tmp_path):
    run = convex.load(write(tmp_path, f"""
        # Run Analysis: claude-opus-4-6

        - **Run ID**: {RUN}
        - **Pass rate**: 65/66

        ## Failures

        - `000-fundamentals/003-crons` — deploy

        All failures are MODEL_FAULT.

        Every failure is a KNOWN_GAP.
        """))
    assert facts(run) == {CRONS: ("deploy", None)}
    assert run.problems[["line", "reason"]].values.tolist() == [
        [10, "sentences classifying every failure disagree (KNOWN_GAP, MODEL_FAULT); not used"],
        [8, "no classification found for 1 of 1 failures"]]


def test_failures_only_in_the_summary_tables(tmp_path):
    run = convex.load(write(tmp_path, f"""
        # Run Analysis: claude-opus-4-6

        - **Run ID**: {RUN}
        - **Pass rate**: 63/66

        ## Failure Summary by Step Type

        | Step Type | Count | Evals |
        |-----------|-------|-------|
        | deploy    | 1     | 003-crons |
        | tests     | 1     | 018-pagination_returns_validator |
        | eslint    | 1     | 001-use_mutation |

        ## Net Impact Assessment

        | Classification | Count | Evals |
        |---------------|-------|-------|
        | MODEL_FAULT | 1 | 003-crons |
        | KNOWN_GAP | 1 | 018-pagination_returns_validator |
        | OVERLY_STRICT | 1 | 001-use_mutation |
        """))
    assert_counts(run)
    # the summary tables name evals without their category
    assert facts(run) == {task.split("/")[1]: value for task, value in FAILURES.items()}
    assert run.meta["failed_by_step"] == {"deploy": 1, "tests": 1, "eslint": 1}
    assert run.problems.empty


# ------------------------------------------------------------------ what is not found

def test_a_report_that_states_nothing_but_its_failures(tmp_path):
    path = write(tmp_path, """
        # Some analysis

        ### 000-fundamentals/003-crons — deploy

        **Classification**: MODEL_FAULT
        """, "notes/analysis.md")
    run = convex.load(path)
    assert facts(run) == {CRONS: ("deploy", "MODEL_FAULT")}
    assert reasons(run) == ["no pass rate found", "no model found", "no run id found"]
    assert run.meta["missing_header"] == ["pass rate", "model", "run id"]
    with pytest.raises(LoadError, match="no pass rate found"):
        convex.load(path, strict=True)


def test_missing_classification_step_and_failures_are_said(tmp_path):
    run = convex.load(write(tmp_path, f"""
        # Run Analysis: claude-opus-4-6

        - **Run ID**: {RUN}
        - **Pass rate**: 63/66

        | Eval | Failed step | Classification | One-line reasoning |
        | --- | --- | --- | --- |
        | `000-fundamentals/003-crons` | deploy | MODEL_FAULT | a |
        | `002-queries/018-pagination_returns_validator` |  | KNOWN_GAP | b |
        | `006-clients/001-use_mutation` | eslint |  | c |
        """))
    assert_counts(run)
    assert run.problems[["line", "reason", "raw"]].values.tolist() == [
        [10, "no classification found for 1 of 3 failures", MUTATION],
        [9, "no failed step found for 1 of 3 failures", PAGINATION],
    ]


def test_a_pass_rate_below_all_with_no_failure_listed(tmp_path):
    run = convex.load(write(tmp_path, f"""
        # Run Analysis: claude-opus-4-6

        - **Run ID**: {RUN}
        - **Pass rate**: 63/66

        ## Per-Failure Analysis

        The details were lost.
        """))
    assert_counts(run)
    assert run.failures.empty and reasons(run) == ["no failures found"]


def test_every_eval_passed_needs_no_failure(tmp_path):
    run = convex.load(write(tmp_path, f"""
        # Run Analysis: claude-opus-4-6

        - **Run ID**: {RUN}
        - **Pass rate**: 66/66 (100%)

        All evals passed; nothing to analyze.
        """))
    assert_counts(run, 66, 66)
    assert run.failures.empty and run.problems.empty


def test_a_run_id_that_contradicts_the_file_name(tmp_path):
    run = convex.load(write(tmp_path, """
        # Run Analysis: claude-opus-4-6

        - **Run ID**: jn7zzzzz8m4p6r9t1w3y5z7b0c2d4f6h
        - **Pass rate**: 66/66
        """))
    assert reasons(run) == ["the run id jn7zzzzz8m4p6r9t1w3y5z7b0c2d4f6h does not start with the file "
                            "name's prefix jn7vq2xk"]


def test_a_percentage_that_contradicts_the_counts(tmp_path):
    run = convex.load(write(tmp_path, f"""
        # Run Analysis: claude-opus-4-6

        - **Run ID**: {RUN}
        - **Pass rate**: 63/66 (83%)

        ## Failures

        - `000-fundamentals/003-crons` — deploy — MODEL_FAULT
        - `002-queries/018-pagination_returns_validator` — tests — KNOWN_GAP
        - `006-clients/001-use_mutation` — eslint — OVERLY_STRICT
        """))
    assert_counts(run)  # the counts are what the report states; the percentage is checked against them
    assert run.problems[["line", "reason"]].values.tolist() == [
        [4, "the pass rate 63/66 is 95.5%, not 83% as written"]]


def test_mentions_in_recommendations_are_not_failures(tmp_path):
    run = convex.load(write(tmp_path, f"""
        # Run Analysis: claude-opus-4-6

        - **Run ID**: {RUN}
        - **Pass rate**: 65/66

        ## Per-Failure Analysis (compared with the previous run)

        ### 1. 000-fundamentals/003-crons — deploy

        **Classification**: MODEL_FAULT

        ## Recommendations

        ### Known gaps (already documented)
        - **002-run_query_mutation:** KNOWN_GAP — handler return type annotation
        - `004-actions/000-fetch`: The lint rule fires on `Promise<any>`.

        ## Cross-cutting patterns

        ### 000-fundamentals/009-returns_validator — deploy

        **Classification**: KNOWN_GAP (in the previous run)
        """))
    assert facts(run) == {CRONS: ("deploy", "MODEL_FAULT")}
    assert run.problems.empty


# ------------------------------------------------------------------ the real reports in every layout
# The facts of each real report (loaded from its own layout, checked by hand in
# test_loader_convex.py) written again in each header style and failure layout: whatever the
# shape, the loader finds the same pass counts, model, run id and failures.

def _step_text(f) -> str:
    return f"{f.step} ({f.tests_passed_pct:g}%)" if pd.notna(f.tests_passed_pct) else f.step


def _header_bullets(m):
    return (f"# Run Analysis: {m['model']}\n\n- **Run ID**: {m['convex_run_id']}\n- **Model**: {m['model']}\n"
            f"- **Pass rate**: {m['tasks_passed']}/{m['tasks_total']}\n")


def _header_bold(m):
    pct = f"{100 * m['tasks_passed'] / m['tasks_total']:.1f}"
    return (f"# Report\n\n**Run ID:** `{m['convex_run_id']}`\n**Model:** `{m['model']}`\n"
            f"**Pass rate:** {m['tasks_passed']} of {m['tasks_total']} ({pct}%)\n")


def _header_field_table(m):
    return (f"# Run report\n\n## Run metadata\n\n| Field | Value |\n|---|---|\n| Run ID | `{m['convex_run_id']}` |\n"
            f"| Model | {m['model']} |\n| Pass rate | `{m['tasks_passed']} / {m['tasks_total']}` |\n")


def _header_one_row(m):
    return (f"# Evals report\n\n| Model | Run ID | Passed | Total |\n|---|---|---|---|\n"
            f"| {m['model']} | {m['convex_run_id']} | {m['tasks_passed']} | {m['tasks_total']} |\n")


def _header_sentence(m):
    return (f"# Run Analysis: {m['model']}\n\nRun: https://convex-evals.netlify.app/experiment/x/run/"
            f"{m['convex_run_id']}/\n\nThe model passed {m['tasks_passed']} of {m['tasks_total']} evals.\n")


HEADERS = [_header_bullets, _header_bold, _header_field_table, _header_one_row, _header_sentence]


def _table(failures):
    rows = "".join(f"| `{f.task_id}` | {_step_text(f)} | {f.classification} | {f.reasoning} |\n"
                   for f in failures.itertuples())
    return "| Eval | Failed step | Classification | One-line reasoning |\n| --- | --- | --- | --- |\n" + rows


def _sections(failures):
    return "".join(f"### {i}. {f.name} ({f.category}) -- {_step_text(f)}\n\n**Classification**: {f.classification}"
                   f"\n\n{f.reasoning}\n\n```ts\n### not a heading\n```\n\n---\n\n"
                   for i, f in enumerate(failures.itertuples(), 1))


def _field_tables(failures):
    return "".join(f"### {i}. {f.task_id} — {f.step} failed\n\n| Field | Value |\n|---|---|\n"
                   f"| **Classification** | {f.classification} |\n| **Failed step** | {_step_text(f)} |\n\n"
                   f"**Reasoning:** {f.reasoning}\n\n" for i, f in enumerate(failures.itertuples(), 1))


def _categories(failures):
    out = ""
    for category, group in failures.groupby("category", sort=False):
        out += f"### {category}\n\n" + "".join(
            f"#### {f.name} — {_step_text(f)}\n- **Classification:** {f.classification}\n- **Reasoning:** {f.reasoning}\n\n"
            for f in group.itertuples())
    return out


def _items(failures):
    return "".join(f"{i}. `{f.task_id}` ({_step_text(f)}): **{f.classification}** — {f.reasoning}\n"
                   for i, f in enumerate(failures.itertuples(), 1))


def _bold_lines(failures):
    return "".join(f"**{f.task_id} — {_step_text(f)} — {f.classification}**\n\n{f.reasoning}\n\n"
                   for f in failures.itertuples())


def _pasted(failures):
    return "".join(f"- Eval: {f.name} ({f.category})\n- Failed step: {_step_text(f)}\n- Classification: "
                   f"{f.classification}\n- Reasoning: {f.reasoning}\n\n" for f in failures.itertuples())


LAYOUTS = [_table, _sections, _field_tables, _categories, _items, _bold_lines, _pasted]


@pytest.fixture(scope="module")
def real_runs():
    from conftest import real

    tree = convex.load(real("convex_evals", "reports"))
    return [tree.select(run_id) for run_id in tree.meta["run_ids"]]


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda f: f.__name__[1:])
def test_real_facts_in_every_layout(tmp_path, real_runs, layout):
    # Seven reports per layout, each with another header style: every layout meets every style.
    shift = LAYOUTS.index(layout)
    for index, run in enumerate(real_runs):
        m, failures = run.meta, run.failures
        header = HEADERS[(index + shift) % len(HEADERS)]
        text = header(m) + "\n## Per-Failure Analysis\n\n" + layout(failures) + (
            "\n## Recommendations\n\n- `000-fundamentals/001-empty_functions`: MODEL_FAULT in a prior run\n")
        path = tmp_path / f"{m['convex_run_id'][:8]}.md"
        path.write_text(text, encoding="utf-8")
        got = convex.load(path)
        where = f"{m['run_id']} with {header.__name__} and {layout.__name__}"
        assert got.problems.empty, (where, got.problems["reason"].tolist())
        assert (got.meta["tasks_passed"], got.meta["tasks_total"]) == (m["tasks_passed"], m["tasks_total"]), where
        assert (got.meta["model"], got.meta["convex_run_id"]) == (m["model"], m["convex_run_id"]), where
        want = failures[["task_id", "step", "classification", "tests_passed_pct", "reasoning"]]
        have = got.failures[["task_id", "step", "classification", "tests_passed_pct", "reasoning"]]
        pd.testing.assert_frame_equal(have.reset_index(drop=True), want.reset_index(drop=True),
                                      check_dtype=False, obj=where)


# ------------------------------------------------------------------ damaged reports

REPORT_EDITS = ("delete", "duplicate", "swap", "unbold", "junk", "cut")


@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_edited_real_reports_load_or_raise_load_error(data):
    """Lines of a real report deleted, repeated, swapped, stripped of markup, replaced by junk
    or cut: a Run whose problems name the file (and real lines), or a LoadError naming it."""
    from conftest import real

    name = data.draw(st.sampled_from(sorted(REAL_NAMES)))
    lines = real("convex_evals", "reports", name).read_text(encoding="utf-8").splitlines()
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(lines) - 1))
        edit = data.draw(st.sampled_from(REPORT_EDITS))
        if edit == "delete":
            del lines[at]
        elif edit == "duplicate":
            lines.insert(at, lines[at])
        elif edit == "swap":
            lines[at], lines[-1 - at] = lines[-1 - at], lines[at]
        elif edit == "unbold":
            lines[at] = lines[at].replace("**", "").replace("`", "")
        elif edit == "junk":
            lines[at] = data.draw(st.text(max_size=80))
        else:
            lines = lines[:at]
        if not lines:
            break
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reports" / name
        path.parent.mkdir(parents=True)
        path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
        try:
            run = convex.load(path)
        except LoadError as exc:
            assert exc.file == str(path)
            return
    assert run.problems["file"].eq(str(path)).all()
    assert run.problems["line"].dropna().between(1, len(lines)).all()
    assert run.failures["task_id"].notna().all()
