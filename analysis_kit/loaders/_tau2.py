"""What tau2-bench's results format needs beyond its format module: the "dir" layout
(``results.json`` + ``simulations/<id>.json``, as tau2's ``Results._detect_format`` decides)
and the reward checks (which check of a simulation's ``reward_info`` failed, and whether the
reward counts it, as tau2's evaluator reports them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..model import Problems
from ._read import MISSING, Source, parse_json, read_text
from ._values import Where

SUCCESS_TOLERANCE = 1e-6  # tau2's is_successful()
_NUM = (int, float)
# (field of reward_info, its RewardType name in reward_basis / reward_breakdown)
CHECKS = (("db_check", "DB"), ("action_checks", "ACTION"), ("nl_assertions", "NL_ASSERTION"),
          ("communicate_checks", "COMMUNICATE"), ("env_assertions", "ENV_ASSERTION"))
CHECK_LABELS = {"action_checks": "actions not matched", "env_assertions": "env assertions not met",
                "nl_assertions": "nl assertions not met", "communicate_checks": "not communicated"}

def failed_checks(reward_info: dict, where: Where) -> list[tuple[str, str, bool]]:
    """(step, what failed, counted in the reward) for each failing check, in tau2's order."""
    basis = reward_info.get("reward_basis")
    basis = set(basis) if type(basis) is list and all(type(b) is str for b in basis) else None
    breakdown = reward_info.get("reward_breakdown")
    breakdown = breakdown if type(breakdown) is dict else {}
    failed = []
    for key, reward_type in CHECKS:
        text = _check_failure(key, reward_info.get(key), where)
        score = breakdown.get(reward_type)
        if text is None and type(score) in _NUM and score < 1 - SUCCESS_TOLERANCE:
            text = f"scored {score}"
        if text is not None:
            failed.append((key, text, basis is None or reward_type in basis))
    return failed


def _check_failure(key: str, value: Any, where: Where) -> str | None:
    if value is None:
        return None
    if key == "db_check":
        return "the database differs from the expected one" if where.mapping(value, key).get("db_match") is False else None
    names = []
    for check in where.listing(value, key):
        if type(check) is not dict:
            continue
        if key == "action_checks" and check.get("action_match") is False:
            action = check.get("action")
            names.append(str(action.get("name")) if type(action) is dict else "?")
        elif key != "action_checks" and check.get("met") is False:
            inner = check.get("env_assertion")
            names.append(str(inner.get("func_name")) if type(inner) is dict else "?" if key == "env_assertions"
                         else str(check.get("nl_assertion" if key == "nl_assertions" else "info"))[:80])
    return f"{CHECK_LABELS[key]}: {', '.join(names)}" if names else None


def document(file: Path, problems: Problems) -> tuple[Any, Source]:
    text = read_text(file, problems)
    source = Source(file, text or "")
    if text is None:
        return MISSING, source
    doc, _ = parse_json(source, problems, arrays={"simulations": "simulation"})
    return doc, source


def layout(path: Path) -> tuple[Path, Path | None]:
    """(results file, simulations dir or None), as tau2's Results._detect_format decides."""
    if path.is_dir():
        return path / "results.json", path / "simulations"
    sims_dir = path.parent / "simulations"
    return path, (sims_dir if sims_dir.is_dir() else None)


def load_sim_files(sims_dir: Path, sims: Any, problems: Problems, index: Any, top: Where) -> None:
    """Add every ``simulations/*.json``; a file named in ``simulation_index`` but missing is a
    problem (a broken one already has its own)."""
    broken: set[str] = set()
    for sim_file in sorted(sims_dir.glob("*.json")) if sims_dir.is_dir() else ():
        found = Problems()  # a damaged file is skipped whole: half a simulation would mislead
        doc, source = document(sim_file, found)
        for row in found.rows[:-1] if source.damaged else found.rows:
            problems.add(row["file"], row["line"], row["reason"], row["raw"])
        if source.damaged or doc is MISSING:
            last = found.rows[-1] if found.rows else {"line": None, "reason": "unreadable", "raw": ""}
            problems.add(sim_file, last["line"], f"simulation file is cut or invalid JSON ({last['reason']}); "
                         "skipped", last["raw"])
            broken.add(sim_file.stem)
            continue
        sims.add(doc, Where(problems, sim_file, locate=lambda key, s=source: s.key_line(key)))
    for entry in index if type(index) is list else ():
        sim_id = entry.get("id") if type(entry) is dict else None
        if type(sim_id) is str and sim_id not in sims.seen and sim_id not in broken:
            top.at(line=top.locate(sim_id)).problem(
                f"simulation {sim_id} is in simulation_index but its file is missing", entry)
