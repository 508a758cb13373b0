"""The words of convex-evals reports and failure summaries (part of the ``convex`` format):
steps, classifications, eval names, pass rates, the names LLMs give header and failure
fields, and small parsers that each read one value from the text around it.

>>> parse_step("tests (50% pass)"), parse_classification("Model faults")[:2]
(('tests', 50.0), ('MODEL_FAULT', None))
>>> take_eval("**`003-crons`** (000-fundamentals) — deploy")
('000-fundamentals', '003-crons', ' — deploy')
>>> parse_rate("**55 of 66** (83.3%)"), covering_class("All 11 failures are MODEL_FAULT.")
((55, 66, '83.3'), 'MODEL_FAULT')
"""

from __future__ import annotations

import re

from ..model import CLASSIFICATIONS
from ._markdown import clean, plain

FORMAT = "convex"
BENCHMARK = "convex-evals"
STEPS = ("filesystem", "install", "deploy", "tsc", "eslint", "tests")
# The runner's and the LLMs' words for a failed step ("convex dev fail", "bun install fail").
STEP_ALIASES = {
    "convex": "deploy", "dev": "deploy", "deployment": "deploy", "bun": "install",
    "npm": "install", "lint": "eslint", "test": "tests", "typecheck": "tsc",
    "codegen": "deploy", "fs": "filesystem",
}
REPORT_STEM = re.compile(r"^(?P<prefix>[A-Za-z0-9]{4,})_(?P<date>\d{4}-\d{2}-\d{2})$")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
EVAL_ID = r"\d{2,4}-[\w.\-]*\w"
EVAL_REF = re.compile(rf"(?P<category>{EVAL_ID})/(?P<name>{EVAL_ID})(?![\w/])|(?P<bare>{EVAL_ID})(?![\w/])")
_LEAD = re.compile(r"^(?:\*\*|__|`|\[|\s)+")
_TRAIL = re.compile(r"^(?:\*\*|__|`|\](?:\([^)]*\))?)+")
_INNER_CATEGORY = re.compile(rf"^\s*\(\s*[`*]*(?P<category>{EVAL_ID})[`*]*\s*\)")
# "Failure 3: ", "Eval: ", "Failed eval #2 — " before the eval a heading names.
HEADING_PREFIX = re.compile(r"^(?:failed\s+eval|failure|eval(?:uation)?)(?:\s*#?\s*\d+(?=\s*[:.)—–-]))?"
                            r"\s*[:.)—–-]?\s*(?=[`*\[]*\d)", re.I)
CLASS_WORD = r"(?:MODEL[_ -]FAULT|OVERLY[_ -]STRICT|AMBIGUOUS[_ -]TASK|KNOWN[_ -]GAP)S?\b"
_CLASS_START = re.compile(rf"^[`*_\s]*{CLASS_WORD}", re.I)
_LOOSE = (re.compile(rf"\bclassif(?:ied|ication)\b\s*(?:as|is|:|=)?\s*[`*_]*(?P<c>{CLASS_WORD})", re.I),
          re.compile(rf"^[`*_\s]*(?P<c>{CLASS_WORD})[`*_\s.!]*$", re.I))
_NOUN = r"(?:failures?|failed\s+evals?|failing\s+evals?|evals?|ones?)"
_COVER = (
    re.compile(rf"\b(?:all|every|each)(?:\s+of)?(?:\s+the)?(?:\s+\d+)?(?:\s+(?:remaining|listed|analy[sz]ed))?"
               rf"(?:\s+{_NOUN})?\s+(?:are|were|is|was)\s+(?:all\s+)?(?:classified\s+(?:as\s+)?)?(?:an?\s+)?"
               rf"(?:genuine\s+|clear\s+)?[`*_]*(?P<c>{CLASS_WORD})", re.I),
    re.compile(rf"(?P<c>{CLASS_WORD})[`*_]*\s*[(:—–-]?\s*(?:for\s+|in\s+)?(?:all|every|each)\s+(?:of\s+the\s+)?"
               rf"(?:\d+\s+)?{_NOUN}", re.I),
)
_SUFFIX_SEP = re.compile(r"\s+(?:--?|—|–)\s+|[—–]|:\s+|,\s+|;\s+|\s*\|\s*")
PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
_COUNTS = re.compile(r"(\d+)\s*(?:/|\bof\b|\bout of\b)\s*(\d+)", re.I)
_PASSED_FAILED = re.compile(r"(\d+)\s+passed\b.*?(\d+)\s+failed\b", re.I)
_RATE_WORDS = r"pass(?:ed|ing)?[\s_-]*rate\b\W{0,8}(?:of|was|is|at)?\W{0,8}"
RATE_SENTENCES = (
    re.compile(rf"{_RATE_WORDS}(?P<p>\d+)\s*(?:/|\bof\b|\bout of\b)\s*(?P<t>\d+)", re.I),
    re.compile(r"(?P<p>\d+)\s*(?:/|\bof\b|\bout of\b)\s*(?P<t>\d+)\s+(?:evals?\s+|tests?\s+|tasks?\s+)?"
               r"(?:passed|pass(?:ing)?)\b", re.I),
    re.compile(r"\bpassed\s+(?P<p>\d+)\s*(?:/|\bof\b|\bout of\b)\s*(?P<t>\d+)", re.I),
    re.compile(rf"{_RATE_WORDS}(?P<pct>\d+(?:\.\d+)?)\s*%", re.I),
)
CONVEX_ID = re.compile(r"\b(?=[a-z]*\d)(?=\d*[a-z])[a-z0-9]{32}\b")
RUN_URL = re.compile(r"/run/([A-Za-z0-9]{8,})")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?)\b", re.I)
# Sections that name evals without listing this run's failures.
_MENTION = re.compile(r"\b(?:recommendations?|recommended|patterns?|prior|previous|recurring|comparison|"
                      r"compared|impact|actions?\s+taken|action\s+items?|next\s+steps?|cross[- ]cutting|"
                      r"lessons)\b", re.I)
_LISTING = re.compile(r"\bfail(?:ures?|ed|ing)?\b|\bclassification", re.I)  # "Failures (vs the prior run)"

# Field names -> fact: how LLMs name the header facts.
HEADER_FIELDS = {
    "run id": "run_id", "run": "run_id", "runid": "run_id", "run_id": "run_id", "convex run id": "run_id",
    "model": "model", "model name": "model", "model id": "model", "provider": "provider",
    "experiment": "experiment", "date": "date", "run date": "date",
    "pass rate": "pass_rate", "pass_rate": "pass_rate", "score": "pass_rate", "result": "pass_rate",
    "results": "pass_rate", "passed": "passed", "evals passed": "passed", "passed evals": "passed",
    "total": "total", "total evals": "total", "evals": "total", "evals run": "total",
    "failed": "failed", "failed evals": "failed", "evals failed": "failed", "failures": "failed",
    "duration": "duration", "status": "status", "formatted name": "formatted_name", "note": "note",
}
FAILURE_FIELDS = {
    "classification": "classification", "class": "classification", "failed step": "step",
    "step": "step", "failing step": "step", "error": "error", "error message": "error",
    "failure reason": "error", "reasoning": "reasoning", "one-line reasoning": "reasoning",
    "reason": "reasoning", "eval": "eval", "eval path": "eval", "category": "category",
}
EVAL_HEADERS = ("eval", "eval path", "evaluation", "eval name", "failed eval", "failure", "task", "test", "name")
STEP_HEADERS = ("step", "step type", "failed step", "failing step", "stage")


def field_name(key: str) -> str:
    """A field's or column's name as the tables above spell it: lower-case, without
    parentheses, punctuation or a leading "overall"/"final"/"actual".

    >>> field_name("Overall Pass Rate (default)"), field_name("Failed step(s)"), field_name("Run ID:")
    ('pass rate', 'failed step', 'run id')
    """
    key = re.sub(r"\([^)]*\)|\(s\)", " ", key.lower())
    key = " ".join(re.sub(r"[^\w\s/-]", " ", key).split())
    return re.sub(r"^(?:overall|final|actual)\s+", "", key)


def take_eval(text: str | None) -> tuple[str | None, str, str] | None:
    """(category, name, the text after it) when ``text`` starts with an eval: ``cat/name``,
    ``name (cat)`` or ``name``, in any markup; None otherwise."""
    text = _LEAD.sub("", text or "", count=1)
    match = EVAL_REF.match(text)
    if not match:
        return None
    rest = _TRAIL.sub("", text[match.end():], count=1)
    category, name = match["category"], match["name"] or match["bare"]
    inner = _INNER_CATEGORY.match(rest)
    if category is None and inner:
        category, rest = inner["category"], rest[inner.end():]
    return category, name, rest


def parse_step(text: str | None) -> tuple[str | None, float | None]:
    """The step name and the tests pass percentage of a "failed step" text.

    >>> parse_step("deploy (convex dev fail)"), parse_step("convex dev fail"), parse_step(None)
    (('deploy', None), ('deploy', None), (None, None))
    """
    text = clean(text)
    if not text:
        return None, None
    word = re.sub(r"[^a-z]", "", text.split()[0].lower())
    step = STEP_ALIASES.get(word, word) or None
    pct = PERCENT.search(text)
    return step, float(pct.group(1)) if pct else None


def parse_classification(text: str | None) -> tuple[str | None, str | None, bool]:
    """(classification, note, understood) of a classification text.

    >>> parse_classification("OVERLY_STRICT (config bug)"), parse_classification("PROBABLY_FINE")
    (('OVERLY_STRICT', 'config bug', True), (None, None, False))
    """
    text = clean(text)
    match = re.match(r"[`*_\s]*([A-Za-z][A-Za-z_\- ]*)", text or "")
    if not match:
        return None, None, False
    word = re.sub(r"[\s\-_]+", "_", match.group(1)).strip("_").upper()
    # "MODEL_FAULT because ...", "Model fault", "model faults": the leading known word counts.
    for known in CLASSIFICATIONS:
        if word == known or word.startswith((known + "_", known + "S")):
            rest = text[match.start(1):]
            rest = rest[len(re.match(r"[A-Za-z]+(?:[\s_\-]+[A-Za-z]+)?", rest).group(0)):]
            paren = re.search(r"\(([^)]*)\)", rest)
            note = paren.group(1) if paren else rest.strip(" -—:`*.")
            return known, (note.strip() or None) if note else None, True
    return None, None, False


def _unwrap(part: str) -> str:
    part = part.strip(" *`:.")
    if part.startswith(("(", "[")) and (part.endswith((")", "]")) or ")" not in part):
        part = part[1:].rstrip(")]")
    elif part.endswith((")", "]")) and "(" not in part and "[" not in part:
        part = part[:-1]
    return part.strip()


def read_suffix(rest: str) -> dict:
    """The step, tests percentage and classification that follow an eval's name ("— tests
    (50% pass)", "(deploy): MODEL_FAULT — why"), and the text after them (``rest``).

    >>> found = read_suffix(" (deploy): MODEL_FAULT (typo) — used `v.tuple`")
    >>> found["step"], found["classification"], found["note"], found["rest"]
    ('deploy', 'MODEL_FAULT', 'typo', 'used `v.tuple`')
    """
    found: dict = {"step": None, "pct": None, "classification": None, "note": None, "rest": ""}
    text, last, pieces = rest.strip().lstrip("-—–:,;| "), 0, []
    for match in _SUFFIX_SEP.finditer(text):
        pieces.append((last, match.start()))
        last = match.end()
    pieces.append((last, len(text)))
    consumed = 0
    for start, end in pieces[:5]:
        part = _unwrap(text[start:end])
        if not part:
            consumed = end
            continue
        if found["classification"] is None and _CLASS_START.match(part):
            found["classification"], found["note"], _ = parse_classification(part)
            consumed = end
            continue
        if re.fullmatch(r"\d+(?:\.\d+)?\s*%(?:\s*pass(?:ed|ing)?)?", part):  # "(tests, 33%)"
            if found["pct"] is None:
                found["pct"] = float(PERCENT.match(part).group(1))
            consumed = end
            continue
        step, pct = parse_step(part)
        if found["step"] is None and step in STEPS:
            found["step"], found["pct"], consumed = step, pct, end
            continue
        break
    found["rest"] = text[consumed:].lstrip(" :—–-,;|)")
    return found


def loose_classification(lines: list[str]) -> str | None:
    """A classification stated in prose ("Classified as **MODEL_FAULT**." or a line that is
    only the word), for a failure with no classification field."""
    for line in lines:
        for pattern in _LOOSE:
            match = pattern.search(line)
            if match:
                return parse_classification(match["c"])[0]
    return None


def covering_class(line: str) -> str | None:
    """The classification a sentence gives every failure ("All 11 failures are MODEL_FAULT",
    "MODEL_FAULT for all evals"), else None."""
    for pattern in _COVER:
        match = pattern.search(line)
        if match:
            return parse_classification(match["c"])[0]
    return None


def parse_rate(text: str | None) -> tuple[int | None, int | None, str | None]:
    """(passed, total, percentage text) of a pass rate: "55/66", "55 of 66", "55 passed, 11
    failed", "83.3%"; None where the text does not give it."""
    text = plain(text)
    counts, pct = _COUNTS.search(text), PERCENT.search(text)
    passed = total = None
    if counts:
        passed, total = int(counts.group(1)), int(counts.group(2))
    elif _PASSED_FAILED.search(text):
        both = _PASSED_FAILED.search(text)
        passed, total = int(both.group(1)), int(both.group(1)) + int(both.group(2))
    return passed, total, pct.group(1) if pct else None


def count(text: str | None) -> int | None:
    """The leading whole number of a field ("19", "`19` evals"), else None."""
    match = re.match(r"\s*(\d+)\b(?!\s*[/%.])", plain(text))
    return int(match.group(1)) if match else None


def counts_from_percent(pct: str, total: int | None, failed: int | None) -> tuple[int, int] | None:
    """(passed, total) from a percentage and a total or failed count, when exactly one pair
    rounds to the percentage as written.

    >>> counts_from_percent("83.3", None, 11), counts_from_percent("83", None, 11), counts_from_percent("50", 66, None)
    ((55, 66), None, (33, 66))
    """
    value, decimals = float(pct), len(pct.partition(".")[2])
    half = 0.5 * 10 ** -decimals + 1e-9

    def fits(passed: int, n: int) -> bool:
        return n > 0 and 0 <= passed <= n and abs(100 * passed / n - value) <= half
    if total:
        passed = round(value * total / 100)
        return (passed, total) if fits(passed, total) else None
    if failed is None or value >= 100:
        return None
    limit = min(int(failed / (1 - min((value + half) / 100, 0.999999))) + 2, 100_000)
    found = [n for n in range(max(failed, 1), limit + 1) if fits(n - failed, n)]
    return (found[0] - failed, found[0]) if len(found) == 1 else None


def is_mention(path: tuple[str, ...]) -> bool:
    """Whether a section (by its headings' titles) is about something other than this run's
    failures: recommendations, patterns, prior runs, impact, actions taken (a title that
    speaks of failures or classifications lists them, whatever else it says).

    >>> is_mention(("Report", "Recommendations", "Known gaps")), is_mention(("Failures (vs the prior run)",))
    (True, False)
    """
    titles = [EVAL_REF.sub("", title) for title in path]
    return any(_MENTION.search(title) and not _LISTING.search(title) for title in titles)


def model_and_provider(value: str | None) -> tuple[str | None, str | None, str | None]:
    """(model, provider, formatted name) from "claude-haiku-4-5 (anthropic)" or
    "google/gemini-3-pro-preview (Gemini 3 Pro)".

    >>> model_and_provider("`gpt-5.2-codex` (GPT-5.2 Codex)")
    ('gpt-5.2-codex', None, 'GPT-5.2 Codex')
    """
    if not value:
        return None, None, None
    value = plain(value)
    match = re.match(r"^(?P<model>[^\s(]+)\s*(?:\((?P<paren>[^)]*)\))?", value)
    if not match:
        return value or None, None, None
    paren = match["paren"]
    if paren and re.fullmatch(r"[a-z0-9_.\-]+", paren):
        return match["model"], paren, None
    return match["model"], None, paren


def run_token(value: str | None) -> str | None:
    """The run id in a field's value (a code span, a link to the run, or the id itself)."""
    text = plain(value)
    url = RUN_URL.search(value or "")
    token = url.group(1) if url else (re.search(r"\b[a-z0-9]{16,}\b", text) or [None])[0]
    return token or clean(value)


def duration_s(text: str | None) -> float | None:
    """Seconds of a duration text ("535s", "~6.4 min", "1.5 hours").

    >>> duration_s("~6.4 min"), duration_s("455s (~7.6 min)"), duration_s("fast")
    (384.0, 455.0, None)
    """
    match = _DURATION.search(text or "")
    if not match:
        return None
    value, unit = float(match.group(1)), match.group(2).lower()
    scale = 0.001 if unit == "ms" else 3600 if unit.startswith("h") else 60 if unit.startswith("m") else 1
    return round(value * scale, 6)
