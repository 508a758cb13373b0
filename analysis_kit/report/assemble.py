"""Put the exported sections together: ANALYSIS_REPORT.md and one self-contained
ANALYSIS_REPORT.html (CSS inline, images as data: URIs, no script, no network).

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

from ..safe import Table, escape_html, escape_markdown, text_block
from .parameterize import TITLES

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
MD_NAME, HTML_NAME = "ANALYSIS_REPORT.md", "ANALYSIS_REPORT.html"


@dataclass
class SectionResult:
    """What one section produced: its exports, or why it failed."""

    section: str
    ok: bool = False
    error: str | None = None
    notebook: Path | None = None
    markdown: str = ""
    html: str = ""
    seconds: float = 0.0
    files: list[Path] = field(default_factory=list)

    @property
    def title(self) -> str:
        return TITLES.get(self.section, self.section)


def _status_table(results: list[SectionResult]) -> Table:
    rows = [[r.title, "ok" if r.ok else "FAILED", f"{r.seconds:.1f}",
             "" if r.ok else (r.error or "").splitlines()[0] if r.error else ""] for r in results]
    return Table(["section", "status", "seconds", "error"], rows, [False, False, True, False])


def _runs_text(run_paths: list[str]) -> str:
    return ", ".join(run_paths)


def markdown_report(results: list[SectionResult], run_paths: list[str], *, redact: bool = True) -> str:
    """The whole report as one markdown document."""
    failed = [r for r in results if not r.ok]
    parts = [
        "# Analysis report",
        f"Run: {escape_markdown(_runs_text(run_paths), redact_secrets=redact)}",
        f"Generated {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M UTC}; "
        f"{len(results) - len(failed)} of {len(results)} sections ran"
        + (f", **{len(failed)} failed**." if failed else "."),
        _status_table(results)._repr_markdown_().strip(),
    ]
    for r in results:
        if r.ok:
            parts.append(r.markdown.strip())
        else:
            parts.append(f"## {r.title}\n\n**This section failed.** The error:\n\n"
                         + text_block(r.error or "unknown error", redact=redact)._repr_markdown_().strip())
    return "\n\n".join(parts) + "\n"


def html_report(results: list[SectionResult], run_paths: list[str], *, redact: bool = True) -> str:
    """The whole report as one self-contained HTML page."""
    css = resources.files("analysis_kit.report").joinpath("report.css").read_text(encoding="utf-8")
    failed = [r for r in results if not r.ok]
    nav = "".join(
        f'<li><a href="#section-{r.section}">{escape_html(r.title)}</a>'
        f'{"" if r.ok else " <span class=ak-status-failed>(failed)</span>"}</li>' for r in results
    )
    body = []
    for r in results:
        if r.ok:
            body.append(f'<section id="section-{r.section}">{r.html}</section>')
        else:
            body.append(
                f'<section id="section-{r.section}" class="ak-failed"><h2>{escape_html(r.title)}</h2>'
                f"<p><strong>This section failed.</strong> The error:</p>"
                f"{text_block(r.error or 'unknown error', redact=redact)._repr_html_()}</section>"
            )
    summary = (f"{len(results) - len(failed)} of {len(results)} sections ran"
               + (f", <strong>{len(failed)} failed</strong>." if failed else "."))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Analysis report</title><style>{css}</style></head><body>"
        f"<h1>Analysis report</h1><p>Run: <code>{escape_html(_runs_text(run_paths), redact_secrets=redact)}</code></p>"
        f"<p>{summary}</p>{_status_table(results)._repr_html_()}<nav><ul>{nav}</ul></nav>"
        + "\n".join(body) + "</body></html>\n"
    )


def write(out_dir: str | os.PathLike, results: list[SectionResult], run_paths: list[str], *,
          formats: tuple[str, ...] = ("md", "html"), redact: bool = True) -> list[Path]:
    """Write the report files asked for into ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if "md" in formats:
        path = out / MD_NAME
        path.write_text(markdown_report(results, run_paths, redact=redact), encoding="utf-8")
        written.append(path)
    if "html" in formats:
        path = out / HTML_NAME
        path.write_text(html_report(results, run_paths, redact=redact), encoding="utf-8")
        written.append(path)
    return written
