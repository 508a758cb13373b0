"""Escaping and secret redaction of untrusted log text, and a safe table display.

Text from logs (agent messages, tool output, error strings) is untrusted: it carries HTML,
``<script>``, markdown, ANSI colour codes and secrets. Everything the notebooks and the report
show goes through here, so no log text ever becomes markup and no key leaves the machine.

>>> from analysis_kit.safe import escape_html, escape_markdown, redact
>>> escape_html("<b>hi</b>")
'&lt;b&gt;hi&lt;/b&gt;'
>>> redact("key sk-ant-api03-abcdefghijklmnop1234 ok")
'key [REDACTED] ok'
>>> escape_markdown("a|b *c*")
'a\\\\|b \\\\*c\\\\*'
"""

from __future__ import annotations

import html
import re
from contextlib import contextmanager
from typing import Any, Iterator

__all__ = [
    "REDACTED", "strip_ansi", "redact", "clean", "escape_html", "escape_markdown",
    "escape_mathtext", "set_redaction", "redaction", "show", "note", "text_block", "Table", "Note",
]

REDACTED = "[REDACTED]"

# CSI (colours, cursor moves), OSC (titles, hyperlinks) and lone ESC sequences, then any
# control character but tab and newline: none of them is text a reader should get.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?|\x9b[0-?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# (pattern, replacement). Order matters: the specific key shapes go before the generic
# ``key=value`` assignment so a whole key is replaced, not only its tail.
_SECRETS: list[tuple[re.Pattern[str], str]] = [
    # Authorization headers: keep the scheme so the reader knows what was there.
    (re.compile(r"(?i)\b(bearer|basic|token)(\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1\2" + REDACTED),
    # OpenAI / Anthropic style keys: sk-..., sk-proj-..., sk-ant-api03-...
    (re.compile(r"\bsk-[A-Za-z0-9_-]{12,}"), REDACTED),
    # AWS access key ids and secret keys assigned by name.
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), REDACTED),
    # GitHub, Slack, Google API keys, HuggingFace tokens.
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"), REDACTED),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), REDACTED),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{30,}"), REDACTED),
    (re.compile(r"\bhf_[A-Za-z0-9]{20,}"), REDACTED),
    # Passwords in URLs: scheme://user:password@host keeps the user and host.
    (re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]+:)[^\s@/]+@"), r"\1" + REDACTED + "@"),
    # api_key=..., "password": "...", secret: ... (the name stays, the value goes).
    (re.compile(
        r"(?i)((?:api[_-]?key|access[_-]?key|secret(?:[_-]?key)?|client[_-]?secret|password|passwd|"
        r"pwd|auth[_-]?token|access[_-]?token|token)[\"']?\s*[:=]\s*[\"']?)(?!\[REDACTED\])"
        r"[^\s\"',;&}]{4,}"
    ), r"\1" + REDACTED),
]

_redact_default = True

# Markdown: backslash-escape every punctuation mark that starts or ends inline markup (and
# the table pipe). ``<``, ``>`` and ``&`` are HTML-escaped first, so raw HTML and entities in
# a log are shown as text. Line-start markers (lists, headings, quotes) are escaped per line.
_MD_INLINE = re.compile(r"([\\`*_{}\[\]()#|~$!^])")
_MD_LINE_START = re.compile(r"^(\s*|\s*\d+)([-+=.])", re.MULTILINE)


def set_redaction(on: bool) -> None:
    """Turn secret redaction on (the default) or off for later calls that do not say.

    >>> set_redaction(False); set_redaction(True)
    """
    global _redact_default
    _redact_default = bool(on)


@contextmanager
def redaction(on: bool) -> Iterator[None]:
    """Redaction on or off inside a ``with`` block.

    >>> with redaction(False): redact("sk-abcdefghijklmnop1234") == "sk-abcdefghijklmnop1234"
    True
    """
    global _redact_default
    before = _redact_default
    _redact_default = bool(on)
    try:
        yield
    finally:
        _redact_default = before


def _want_redaction(flag: bool | None) -> bool:
    return _redact_default if flag is None else bool(flag)


def strip_ansi(text: str) -> str:
    """Remove ANSI escape codes and control characters (tab and newline stay).

    >>> strip_ansi("\\x1b[31mred\\x1b[0m")
    'red'
    """
    return _CONTROL.sub("", _ANSI.sub("", text))


def redact(text: str, on: bool | None = None) -> str:
    """Replace API keys, bearer tokens, URL passwords and ``key=value`` secrets with [REDACTED].

    ``on=False`` returns the text unchanged; ``None`` follows :func:`set_redaction`.

    >>> redact("https://bob:hunter2@db.example.com/x")
    'https://bob:[REDACTED]@db.example.com/x'
    >>> redact("Authorization: Bearer abcdefgh12345678")
    'Authorization: Bearer [REDACTED]'
    """
    if not _want_redaction(on):
        return text
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def clean(value: Any, *, redact_secrets: bool | None = None, max_chars: int | None = None) -> str:
    """Untrusted value -> plain text: ANSI stripped, secrets redacted, optionally cut.

    >>> clean("\\x1b[1mkey=sk-abcdefghijklmnop1234\\x1b[0m")
    'key=[REDACTED]'
    """
    text = redact(strip_ansi(_as_text(value)), redact_secrets)
    if max_chars is not None and len(text) > max_chars:
        text = f"{text[:max_chars]}... ({len(text) - max_chars} more chars)"
    return text


def escape_html(value: Any, *, redact_secrets: bool | None = None, max_chars: int | None = None) -> str:
    """Text safe to put inside HTML elements and attributes.

    >>> escape_html('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    return html.escape(clean(value, redact_secrets=redact_secrets, max_chars=max_chars), quote=True)


def escape_markdown(value: Any, *, redact_secrets: bool | None = None, max_chars: int | None = None,
                    newline: str = "\n", line_markers: bool = True) -> str:
    """Text that a markdown renderer shows literally (no HTML, links, emphasis, math, tables).

    ``newline`` replaces line breaks (use ``"<br>"`` inside a table cell); ``line_markers``
    escapes list/heading markers at line starts (not needed inside a table cell).

    >>> escape_markdown("<script>x</script> [a](b)")
    '&lt;script&gt;x&lt;/script&gt; \\\\[a\\\\]\\\\(b\\\\)'
    """
    text = html.escape(clean(value, redact_secrets=redact_secrets, max_chars=max_chars), quote=False)
    text = _MD_INLINE.sub(r"\\\1", text)
    if line_markers:
        text = _MD_LINE_START.sub(r"\1\\\2", text)
    if newline != "\n":
        text = text.replace("\r\n", "\n").replace("\n", newline)
    return text


def escape_mathtext(value: Any, *, redact_secrets: bool | None = None, max_chars: int | None = 60) -> str:
    """A matplotlib label from log text: ``$`` escaped so mathtext never parses it.

    >>> escape_mathtext("cost $5 and $6")
    'cost \\\\$5 and \\\\$6'
    """
    return clean(value, redact_secrets=redact_secrets, max_chars=max_chars).replace("$", r"\$")


# --- display objects ---------------------------------------------------------------------

class Table:
    """A table of escaped, redacted text that renders in JupyterLab, markdown and HTML.

    Built by :func:`show`; ``rows`` holds the cell text (before escaping, after redaction).
    """

    def __init__(self, columns: list[str], rows: list[list[str]], numeric: list[bool], *,
                 caption: str | None = None, more: int = 0, redact_secrets: bool | None = None):
        self.columns, self.rows, self.numeric = columns, rows, numeric
        self.caption, self.more, self.redact_secrets = caption, more, redact_secrets

    def _footer(self) -> str:
        return f"... {self.more} more rows" if self.more else ""

    def _repr_markdown_(self) -> str:
        from tabulate import tabulate

        esc = lambda s: escape_markdown(s, redact_secrets=False, newline="<br>", line_markers=False)  # noqa: E731
        headers = [esc(c) for c in self.columns]
        body = [[esc(c) for c in row] for row in self.rows]
        align = ["right" if n else "left" for n in self.numeric]
        table = tabulate(body, headers=headers, tablefmt="pipe", disable_numparse=True,
                         colalign=align) if self.columns else ""
        parts = [f"*{escape_markdown(self.caption, redact_secrets=False)}*"] if self.caption else []
        parts.append(table)
        if self.more:
            parts.append(f"*{self._footer()}*")
        return "\n\n".join(parts) + "\n"

    def _repr_html_(self) -> str:
        esc = lambda s: escape_html(s, redact_secrets=False).replace("\n", "<br>")  # noqa: E731
        cls = lambda n: ' class="num"' if n else ""  # noqa: E731
        head = "".join(f"<th{cls(n)}>{esc(c)}</th>" for c, n in zip(self.columns, self.numeric))
        body = "".join(
            "<tr>" + "".join(f"<td{cls(n)}>{esc(v)}</td>" for v, n in zip(row, self.numeric)) + "</tr>"
            for row in self.rows
        )
        caption = f"<caption>{esc(self.caption)}</caption>" if self.caption else ""
        foot = f'<p class="ak-more">{esc(self._footer())}</p>' if self.more else ""
        return (f'<table class="ak-table">{caption}<thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>{foot}")

    def __repr__(self) -> str:
        from tabulate import tabulate

        return tabulate(self.rows, headers=self.columns, disable_numparse=True)

    def __len__(self) -> int:
        return len(self.rows)


class Note:
    """A sentence of (untrusted) text shown as a paragraph, escaped for every renderer.

    >>> Note("no <b>data</b>")._repr_markdown_()
    'no &lt;b&gt;data&lt;/b&gt;\\n'
    """

    def __init__(self, text: Any, *, emphasis: bool = False, redact_secrets: bool | None = None,
                 block: bool = False):
        self.text = clean(text, redact_secrets=redact_secrets)
        self.emphasis, self.block = emphasis, block

    def _repr_markdown_(self) -> str:
        if self.block:
            # An HTML <pre> block of escaped text rather than a code fence: markdown renderers
            # show it literally, blank lines do not end it, and no raw "<" from a log remains
            # in the markdown file for a less careful renderer to trip over.
            return f'<pre class="ak-text">{escape_html(self.text, redact_secrets=False)}</pre>\n'
        body = escape_markdown(self.text, redact_secrets=False)
        return (f"*{body}*" if self.emphasis else body) + "\n"

    def _repr_html_(self) -> str:
        body = escape_html(self.text, redact_secrets=False)
        if self.block:
            return f'<pre class="ak-text">{body}</pre>'
        return f"<p><em>{body}</em></p>" if self.emphasis else f"<p>{body}</p>"

    def __repr__(self) -> str:
        return self.text


def note(text: Any, *, emphasis: bool = True, redact: bool | None = None) -> Note:
    """A short escaped sentence, e.g. ``note("this run has no latency data")``.

    >>> note("no data")._repr_html_()
    '<p><em>no data</em></p>'
    """
    return Note(text, emphasis=emphasis, redact_secrets=redact)


def text_block(text: Any, *, redact: bool | None = None, max_chars: int | None = 4000) -> Note:
    """Untrusted multi-line text (a transcript, an error) shown verbatim in a block.

    >>> text_block("<b>x</b>")._repr_html_()
    '<pre class="ak-text">&lt;b&gt;x&lt;/b&gt;</pre>'
    """
    shown = clean(text, redact_secrets=redact, max_chars=max_chars)
    return Note(shown, block=True, redact_secrets=False)


def show(data: Any, *, max_rows: int = 30, max_chars: int = 200, caption: str | None = None,
         index: bool = False, redact: bool | None = None, empty: str = "no rows",
         formats: dict[str, str] | None = None, float_digits: int | None = None) -> Table | Note:
    """A DataFrame (or dict, or Series) as a safe table: every cell escaped and redacted,
    every number written the kit's one way (:mod:`analysis_kit.formatting`: durations in
    readable units, shares as percentages, costs with a currency sign; the column header
    loses the unit suffix its values now carry). ``formats`` names a column's format where
    its name does not say (e.g. ``{"ci_low": "percent"}``). A dict is shown as field/value
    rows, each value formatted by its field's name.

    Returns an object with ``_repr_markdown_`` and ``_repr_html_`` so JupyterLab, the markdown
    export and the HTML export all render a real table. An empty table becomes a
    :func:`note` saying ``empty``. (``float_digits`` is accepted and ignored: numbers follow
    the formatting module.)

    >>> import pandas as pd
    >>> t = show(pd.DataFrame({"msg": ["<script>x</script>"], "p50_ms": [1500.0]}))
    >>> "<script>" in t._repr_html_() or "<script>" in t._repr_markdown_()
    False
    >>> t.columns, t.rows
    (['msg', 'p50'], [['<script>x</script>', '1.5 s']])
    """
    import pandas as pd

    from . import formatting

    if isinstance(data, dict):
        return _show_fields(data, max_chars=max_chars, caption=caption, redact=redact, empty=empty,
                            formats=formats)
    if isinstance(data, pd.Series):
        data = data.to_frame()
    if not isinstance(data, pd.DataFrame):
        data = pd.DataFrame(data)
    if data.empty:
        return note(empty)
    if index:
        data = data.reset_index()
    shown = data.head(max_rows)
    headers, cells, numeric = formatting.rows_as_text(shown, formats)
    columns = [clean(c, redact_secrets=redact) for c in headers]
    rows = [[clean(v, redact_secrets=redact, max_chars=max_chars) for v in row] for row in cells]
    return Table(columns, rows, numeric, caption=caption, more=len(data) - len(shown))


def _show_fields(data: dict, *, max_chars: int, caption: str | None, redact: bool | None, empty: str,
                 formats: dict[str, str] | None) -> Table | Note:
    """A dict as a two-column table of fields, each value formatted by its field's name."""
    from . import formatting

    if not data:
        return note(empty)
    formats = formats or {}
    rows = []
    for name, value in data.items():
        kind = formats.get(name) or formatting.column_format(str(name).replace(" ", "_"))
        if kind in ("id", "text") and not isinstance(value, str):
            kind = "text"
        rows.append([clean(formatting.header(name), redact_secrets=redact),
                     clean(formatting.value(value, kind), redact_secrets=redact, max_chars=max_chars)])
    return Table(["field", "value"], rows, [False, False], caption=caption)
