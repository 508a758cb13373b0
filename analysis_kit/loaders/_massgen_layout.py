"""Where a MassGen log keeps its files: the ``log_*`` root, its ``turn_N/attempt_M`` folders
(newer layout) or the files themselves (older flat layout), and every attempt's outcome.

MassGen (``massgen/logger_config.py``) always writes ``log_<ts>/turn_<N>/attempt_<M>/``: a
new turn per follow-up question, a new attempt when a post-evaluation asks to restart the
orchestration; ``massgen/cli/run.py`` then writes the next attempt's
``execution_metadata.yaml`` with ``cli_args.restart_reason``. Older versions wrote the files
straight into ``log_<ts>/``. ``massgen logs list --analyzed`` looks for
``turn_<N>/ANALYSIS_REPORT.md`` (``massgen.logs_analyzer.has_analysis_report``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exceptions import LoadError
from ..model import Problems
from ._read import MISSING, read_json, read_yaml

TURN_RE = re.compile(r"^turn_(\d+)$")
ATTEMPT_RE = re.compile(r"^attempt_(\d+)$")
AGENT_DIR_RE = re.compile(r"^agent_")
REPORT_NAME = "ANALYSIS_REPORT.md"


def is_log_dir(p: Path) -> bool:
    """Whether ``p`` holds a MassGen log (its files, turns, attempts or agent snapshots)."""
    if (p / "coordination_events.json").is_file() or (p / "status.json").is_file():
        return True
    children = [c for c in p.iterdir() if c.is_dir()]
    if any(TURN_RE.match(c.name) or ATTEMPT_RE.match(c.name) for c in children):
        return True
    for agent_dir in (c for c in children if AGENT_DIR_RE.match(c.name)):
        for snap in agent_dir.iterdir():
            if (snap / "answer.txt").is_file() or (snap / "vote.json").is_file():
                return True
    return False


def log_root(path: Path) -> Path:
    """``path`` itself, or the one ``log_*`` directory inside it."""
    if is_log_dir(path):
        return path
    logs = [c for c in path.iterdir() if c.is_dir() and c.name.startswith("log_")]
    if len(logs) == 1:
        return logs[0]
    if not logs:
        raise LoadError("not a MassGen log directory (no coordination_events.json, "
                        "status.json, turn_*/ or agent_*/ answers)", file=str(path))
    raise LoadError(f"{len(logs)} log_* directories here; pass one of them", file=str(path))


def numbered(parent: Path, pattern: re.Pattern) -> dict[int, Path]:
    """``{N: folder}`` of the sub-folders named like ``pattern``, in numeric order."""
    found = {}
    for child in parent.iterdir():
        m = pattern.match(child.name)
        if m and child.is_dir():
            found[int(m.group(1))] = child
    return dict(sorted(found.items()))


@dataclass
class Choice:
    """The folder a load reads and what the log holds around it."""

    base: Path            # the folder holding the attempt's files
    root: Path            # the log_* folder
    layout: str           # "flat", "newer", "newer_empty"
    turn: int | None
    attempt: int | None
    turns: dict[int, dict[int, Path]]  # every turn's attempts


def choose(path: Path, turn: int | None, attempt: int | None, problems: Problems) -> Choice:
    """The attempt to load: the one given, else the latest turn with attempts and its
    latest attempt. A path that is itself ``turn_N/attempt_M`` is that attempt."""
    if ATTEMPT_RE.match(path.name) and TURN_RE.match(path.parent.name) and is_log_dir(path):
        t, a = int(TURN_RE.match(path.parent.name).group(1)), int(ATTEMPT_RE.match(path.name).group(1))
        root = path.parent.parent
        return Choice(path, root, "newer", t, a, _all_turns(root))
    root = log_root(path)
    turns = _all_turns(root)
    if not turns:
        if turn is not None or attempt is not None:
            raise LoadError("turn/attempt given but this log has the flat layout (no turn_*/)", file=str(root))
        return Choice(root, root, "flat", None, None, {})
    for t, ats in turns.items():
        if not ats and (turn is None or t == turn):
            problems.add(root / f"turn_{t}", None, "missing attempt_*/ directories: empty turn directory")
    available = {f"turn_{t}": [f"attempt_{a}" for a in ats] for t, ats in turns.items()}
    if turn is not None and turn not in turns:
        raise LoadError(f"no turn_{turn}; available: {sorted(available)}", file=str(root))
    chosen = turn if turn is not None else next((t for t in reversed(turns) if turns[t]), max(turns))
    ats = turns[chosen]
    if not ats:
        return Choice(root / f"turn_{chosen}", root, "newer_empty", chosen, None, turns)
    if attempt is not None and attempt not in ats:
        raise LoadError(f"no attempt_{attempt} in turn_{chosen}; available: {available[f'turn_{chosen}']}",
                        file=str(root / f"turn_{chosen}"))
    a = attempt if attempt is not None else max(ats)
    return Choice(ats[a], root, "newer", chosen, a, turns)


def _all_turns(root: Path) -> dict[int, dict[int, Path]]:
    return {t: numbered(d, ATTEMPT_RE) for t, d in numbered(root, TURN_RE).items()}


def attempts_overview(choice: Choice) -> list[dict[str, Any]]:
    """One row per attempt of every turn: turn, attempt, folder, outcome (``restarted`` when
    a later attempt of its turn exists, else the attempt's own finish), winner, the reason of
    the restart (from the next attempt's execution_metadata.yaml), and whether this is the
    attempt loaded. Read leniently: this is a listing, its files' problems are the loads'."""
    rows = []
    quiet = Problems(False)
    for t, ats in choice.turns.items():
        numbers = list(ats)
        for i, a in enumerate(numbers):
            folder = ats[a]
            status = read_json(folder / "status.json", quiet)[0] if (folder / "status.json").is_file() else None
            status = status if isinstance(status, dict) else {}
            results = status.get("results") if isinstance(status.get("results"), dict) else {}
            later = numbers[i + 1] if i + 1 < len(numbers) else None
            reason = _restart_reason(ats[later], quiet) if later is not None else None
            finish = status.get("finish_reason") if isinstance(status.get("finish_reason"), str) else None
            winner = results.get("winner") if isinstance(results.get("winner"), str) else None
            rows.append({"turn": t, "attempt": a, "dir": folder.relative_to(choice.root).as_posix(),
                         "outcome": "restarted" if later is not None else (
                             finish or ("completed" if winner else "incomplete")),
                         "winner": winner,
                         "restart_reason": reason,
                         "loaded": t == choice.turn and a == choice.attempt})
    return rows


def _restart_reason(next_attempt: Path, problems: Problems) -> str | None:
    meta_file = next_attempt / "execution_metadata.yaml"
    if not meta_file.is_file():
        return None
    data = read_yaml(meta_file, problems)
    if data is MISSING or not isinstance(data, dict):
        return None
    cli = data.get("cli_args")
    reason = cli.get("restart_reason") if isinstance(cli, dict) else None
    return reason if isinstance(reason, str) and reason.strip() else None


def report_path(run_meta: dict) -> Path | None:
    """Where ``massgen logs list --analyzed`` looks for this run's analysis report:
    ``<log>/turn_<N>/ANALYSIS_REPORT.md`` (None for the flat layout, which it never lists)."""
    root, turn = run_meta.get("log_dir"), run_meta.get("turn")
    if not root or turn is None:
        return None
    return Path(root) / f"turn_{turn}" / REPORT_NAME
