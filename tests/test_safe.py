"""Escaping and redaction of untrusted log text (analysis_kit.safe)."""

import pandas as pd
import pytest

from analysis_kit import safe
from analysis_kit.safe import (REDACTED, clean, escape_html, escape_markdown, escape_mathtext,
                               note, redact, show, strip_ansi, text_block)
from analysis_kit.samples import HOSTILE_SNIPPETS


@pytest.mark.parametrize("secret, expected", [
    ("key sk-proj-abcdefghijklmnopqrstuv end", f"key {REDACTED} end"),
    ("sk-ant-api03-AbCdEf0123456789_-xyz", REDACTED),
    ("aws AKIAIOSFODNN7EXAMPLE here", f"aws {REDACTED} here"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", f"Authorization: Bearer {REDACTED}"),
    ("postgres://admin:s3cr3t!@db.internal:5432/x", f"postgres://admin:{REDACTED}@db.internal:5432/x"),
    ("api_key=abcd1234efgh&x=1", f"api_key={REDACTED}&x=1"),
    ('{"password": "hunter22"}', f'{{"password": "{REDACTED}"}}'),
    ("token ghp_abcdefghijklmnopqrstuvwxyz0123", f"token {REDACTED}"),
])
def test_redact_replaces_each_secret_shape(secret, expected):
    assert redact(secret) == expected


def test_redact_leaves_ordinary_text_and_can_be_turned_off():
    text = "the task-risk score is 0.5; see http://example.com/a:b and sk-short"
    assert redact(text) == text
    key = "sk-ant-api03-AbCdEf0123456789"
    assert redact(key, on=False) == key
    with safe.redaction(False):
        assert clean(key) == key
    assert clean(key) == REDACTED


def test_hostile_snippet_secret_is_redacted():
    bearer = HOSTILE_SNIPPETS[-1]
    assert clean(bearer) == f"Authorization: Bearer {REDACTED}"
    assert "FAKE0123456789" not in escape_html(bearer) + escape_markdown(bearer)


def test_strip_ansi_removes_colour_osc_and_control_chars():
    assert strip_ansi("\x1b[31mred\x1b[0m \x1b]0;title\x07x\x00y\tz\n") == "red xy\tz\n"


def test_escape_html_neutralises_tags_and_attributes():
    assert escape_html('<img src=x onerror="a()">') == "&lt;img src=x onerror=&quot;a()&quot;&gt;"
    assert escape_html("&lt;") == "&amp;lt;"


def test_escape_markdown_shows_text_literally():
    assert escape_markdown("<script>x</script>") == "&lt;script&gt;x&lt;/script&gt;"
    assert escape_markdown("**b** [l](u) a|b $x$ `c`") == (
        r"\*\*b\*\* \[l\]\(u\) a\|b \$x\$ \`c\`")
    assert escape_markdown("# h\n- item\n1. one") == "\\# h\n\\- item\n1\\. one"
    assert escape_markdown("a\nb", newline="<br>") == "a<br>b"


def test_escape_mathtext_escapes_dollars_and_cuts():
    assert escape_mathtext("$5 per $x$") == r"\$5 per \$x\$"
    assert escape_mathtext("x" * 100).endswith("(40 more chars)")


def test_show_builds_escaped_markdown_and_html_tables():
    frame = pd.DataFrame({"msg": list(HOSTILE_SNIPPETS), "duration_ms": [1.0, 2.5, None, 1234.5678, 0.0]})
    table = show(frame)
    md, page = table._repr_markdown_(), table._repr_html_()
    for text in (md, page):
        assert "<script" not in text and "<img" not in text and "FAKE0123" not in text
        assert "\x1b" not in text
    lines = md.splitlines()
    assert lines[0].startswith("| msg") and lines[1].startswith("|:--")
    assert len(lines) == 2 + 5  # header, rule, five rows: the pipes in row 3 are escaped
    # Numbers are written the formatting module's way: durations in readable units.
    assert lines[0].split("|")[-2].strip() == "duration"
    assert " 1.2 s |" in md and " 2.5 ms |" in md and " 0 ms |" in md and "e+" not in md
    assert page.count("<tr>") == 6 and page.count('<td class="num">') == 5


def test_show_cuts_rows_and_long_cells_and_says_so():
    table = show(pd.DataFrame({"x": ["a" * 300] * 40}), max_rows=10, max_chars=50)
    assert len(table) == 10 and table.more == 30
    assert "250 more chars" in table.rows[0][0]
    assert "30 more rows" in table._repr_markdown_()


def test_show_empty_frame_is_a_note_and_dict_is_two_columns():
    empty = show(pd.DataFrame({"a": []}), empty="this run has no latency data")
    assert empty._repr_markdown_() == "*this run has no latency data*\n"
    table = show({"pass rate": 0.5, "tasks": 4})
    assert table.columns == ["field", "value"] and table.rows == [["pass rate", "50.0%"], ["tasks", "4"]]


def test_note_and_text_block_escape():
    assert note("<b>x</b>")._repr_html_() == "<p><em>&lt;b&gt;x&lt;/b&gt;</em></p>"
    block = text_block("```\n<script>x</script>\nsk-abcdefghijklmnop1234")
    assert block._repr_markdown_() == f'<pre class="ak-text">```\n&lt;script&gt;x&lt;/script&gt;\n{REDACTED}</pre>\n'
    assert "<script>" not in block._repr_html_()
