"""Put the exported sections together: ANALYSIS_REPORT.md and one self-contained
ANALYSIS_REPORT.html (CSS inline, images as data: URIs, no script, no network).

Page one is the answer: the runs reported, the headline (linked to the sections that
explain each fact), then the sections. What had nothing to say for this run (a section, or
a part of one) is named once at the end, and the table of section timings comes last.

The HTML page carries a Content-Security-Policy that allows no script at all and loads
nothing but inline styles and data: images, so even text that escaped escaping could not
run or phone home.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .. import formatting as fmt
from ..safe import Table, escape_html, escape_markdown, text_block
from .sections import TITLES

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
MD_NAME, HTML_NAME = "ANALYSIS_REPORT.md", "ANALYSIS_REPORT.html"
LEFT_OUT_TITLE = "Not in this report"
TIMINGS_TITLE = "Section timings"


@dataclass
class SectionResult:
    """What one section produced: its exports, or why it failed; or, when the run gave it
    nothing to say, why it did not run (``skipped``)."""

    section: str
    ok: bool = False
    error: str | None = None
    notebook: Path | None = None
    markdown: str = ""
    html: str = ""
    seconds: float = 0.0
    files: list[Path] = field(default_factory=list)
    skipped: str | None = None
    omitted: list[tuple[str, str]] = field(default_factory=list)

    @property
    def title(self) -> str:
        return TITLES.get(self.section, self.section)

    @property
    def ran(self) -> bool:
        return self.skipped is None


@dataclass
class Front:
    """The first page: what was reported (the runs' id and path, or a run store's path
    with ``label="Store"``) and the headline (None: none; any object with
    ``_repr_markdown_`` and ``_repr_html_``)."""

    runs: list[tuple[str, str]]
    headline: Any = None
    label: str = "Run"

    @property
    def subject(self) -> str:
        return self.label + ("s" if len(self.runs) > 1 else "")


def _status_table(results: list[SectionResult]) -> Table:
    rows = [[r.title, "ok" if r.ok else "FAILED", fmt.duration(r.seconds),
             (r.error or "").splitlines()[0] if not r.ok and r.error else ""] for r in results if r.ran]
    return Table(["section", "status", "time", "error"], rows, [False, False, True, False])


def _left_out(results: list[SectionResult]) -> list[tuple[str, str]]:
    """(what, why) of every section and part left out for having nothing to say."""
    items = [(r.title, r.skipped) for r in results if not r.ran]
    for r in results:
        items += [(f"{r.title}: {title}", reason) for title, reason in r.omitted]
    return items


def _summary(results: list[SectionResult]) -> tuple[int, int]:
    ran = [r for r in results if r.ran]
    return len(ran) - sum(not r.ok for r in ran), len(ran)


def _runs_markdown(front: Front, redact: bool) -> str:
    return "; ".join(f"**{escape_markdown(rid, redact_secrets=redact)}** "
                     f"(`{escape_markdown(path, redact_secrets=redact)}`)" if path else
                     f"**{escape_markdown(rid, redact_secrets=redact)}**" for rid, path in front.runs)


def _runs_html(front: Front, redact: bool) -> str:
    return "; ".join(f"<strong>{escape_html(rid, redact_secrets=redact)}</strong>"
                     + (f" (<code>{escape_html(path, redact_secrets=redact)}</code>)" if path else "")
                     for rid, path in front.runs)


def markdown_report(results: list[SectionResult], front: Front, *, redact: bool = True) -> str:
    """The whole report as one markdown document."""
    ok, ran = _summary(results)
    failed = ran - ok
    parts = [
        "# Analysis report",
        f"{front.subject}: {_runs_markdown(front, redact)}",
        f"Generated {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M UTC}; {ok} of {ran} sections ran"
        + (f", **{failed} failed**." if failed else "."),
    ]
    if front.headline is not None:
        parts.append(front.headline._repr_markdown_().strip())
    for r in results:
        if not r.ran:
            continue
        if r.ok:
            parts.append(r.markdown.strip())
        else:
            parts.append(f"## {r.title}\n\n**This section failed.** The error:\n\n"
                         + text_block(r.error or "unknown error", redact=redact)._repr_markdown_().strip())
    left_out = _left_out(results)
    if left_out:
        parts.append(f"## {LEFT_OUT_TITLE}\n\nNothing to show for this {front.label.lower()}:\n\n" + "\n".join(
            f"- **{escape_markdown(what, redact_secrets=False)}**: {escape_markdown(why, redact_secrets=False)}"
            for what, why in left_out))
    parts.append(f"## {TIMINGS_TITLE}\n\n" + _status_table(results)._repr_markdown_().strip())
    return "\n\n".join(parts) + "\n"


def html_report(results: list[SectionResult], front: Front, *, redact: bool = True) -> str:
    """The whole report as one self-contained HTML page."""
    css = resources.files("analysis_kit.report").joinpath("report.css").read_text(encoding="utf-8")
    ok, ran = _summary(results)
    failed = ran - ok
    nav = "".join(
        f'<li><a href="#section-{r.section}">{escape_html(r.title)}</a>'
        f'{"" if r.ok else " <span class=ak-status-failed>(failed)</span>"}</li>' for r in results if r.ran)
    body = []
    for r in results:
        if not r.ran:
            continue
        if r.ok:
            body.append(f'<section id="section-{r.section}">{r.html}</section>')
        else:
            body.append(
                f'<section id="section-{r.section}" class="ak-failed"><h2>{escape_html(r.title)}</h2>'
                f"<p><strong>This section failed.</strong> The error:</p>"
                f"{text_block(r.error or 'unknown error', redact=redact)._repr_html_()}</section>"
            )
    left_out = _left_out(results)
    if left_out:
        items = "".join(f"<li><strong>{escape_html(what, redact_secrets=False)}</strong>: "
                        f"{escape_html(why, redact_secrets=False)}</li>" for what, why in left_out)
        body.append(f'<section id="left-out"><h2>{LEFT_OUT_TITLE}</h2><p>Nothing to show for this {front.label.lower()}:</p>'
                    f"<ul>{items}</ul></section>")
    body.append(f'<section id="timings"><h2>{TIMINGS_TITLE}</h2>{_status_table(results)._repr_html_()}</section>')
    summary = (f"{ok} of {ran} sections ran" + (f", <strong>{failed} failed</strong>." if failed else "."))
    headline = front.headline._repr_html_() if front.headline is not None else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Analysis report</title><style>{css}</style></head><body>"
        f"<h1>Analysis report</h1><p>{front.subject}: {_runs_html(front, redact)}</p>"
        f"<p>{summary}</p>{headline}<nav><ul>{nav}</ul></nav>"
        + "\n".join(body) + "</body></html>\n"
    )


def write(out_dir: str | os.PathLike, results: list[SectionResult], front: Front | list[str], *,
          formats: tuple[str, ...] = ("md", "html"), redact: bool = True) -> list[Path]:
    """Write the report files asked for into ``out_dir``; return their paths. ``front``
    may be a plain list of run paths (no headline)."""
    if not isinstance(front, Front):
        front = Front(runs=[(str(p), "") for p in front])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if "md" in formats:
        path = out / MD_NAME
        path.write_text(markdown_report(results, front, redact=redact), encoding="utf-8")
        written.append(path)
    if "html" in formats:
        path = out / HTML_NAME
        path.write_text(html_report(results, front, redact=redact), encoding="utf-8")
        written.append(path)
    return written
