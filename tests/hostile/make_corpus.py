"""Build the hostile-input corpus: damaged copies of the small committed files in ``files/``
and the large or unusual inputs that are not committed (a 10 MB line, a symlink loop, a
directory of 10,000 runs, a big [PROFILE] log).

Every builder takes a destination folder (a temp dir at test time) and returns the path to
load. Output is deterministic: random bytes come from seeded generators.

    python tests/hostile/make_corpus.py /tmp/corpus       # writes every generated case there
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
from pathlib import Path

FILES = Path(__file__).resolve().parent / "files"
PROFILE = FILES / "profile_damaged.log"
TAU2 = FILES / "tau2_three_sims.json"
TAU2_WRONG = FILES / "tau2_wrong_types.json"
MASEVAL = FILES / "benchmark_20251028_000000.jsonl"
MASSGEN = FILES / "massgen" / "log_20250101_120000"
CONVEX = FILES / "failures_hostile.json"
BOM = b"\xef\xbb\xbf"
TEN_MB = 10 * 1024 * 1024


def write(dest: Path, name: str, data: bytes) -> Path:
    path = dest / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def garbage(n: int = 4096, seed: int = 0) -> bytes:
    """Binary garbage without a newline-free structure any format would accept."""
    return random.Random(seed).randbytes(n)


# ------------------------------------------------------------------ byte-level damage

def empty(dest: Path, name: str) -> Path:
    return write(dest, name, b"")


def zeros(dest: Path, name: str) -> Path:
    return write(dest, name, b"\x00" * 4096)


def binary(dest: Path, name: str) -> Path:
    return write(dest, name, garbage())


def with_bom(dest: Path, source: Path, name: str | None = None) -> Path:
    return write(dest, name or source.name, BOM + source.read_bytes())


def with_crlf(dest: Path, source: Path, name: str | None = None) -> Path:
    return write(dest, name or source.name, source.read_bytes().replace(b"\n", b"\r\n"))


def with_bad_utf8(dest: Path, source: Path, needle: bytes, name: str | None = None) -> Path:
    """``source`` with the bytes 0xff 0xfe (never valid UTF-8) inserted after ``needle``."""
    data = source.read_bytes()
    at = data.index(needle) + len(needle)
    return write(dest, name or source.name, data[:at] + b"\xff\xfe" + data[at:])


def truncated(dest: Path, source: Path, after: bytes, name: str, occurrence: int = 1) -> Path:
    """``source`` cut right after the ``occurrence``-th ``after`` (a writer killed there)."""
    data, at = source.read_bytes(), -1
    for _ in range(occurrence):
        at = data.index(after, at + 1)
    return write(dest, name, data[:at + len(after)])


# ------------------------------------------------------------------ large inputs

def profile_ten_mb_lines(dest: Path) -> Path:
    """The damaged profile log with a 10 MB INFO line after line 1 and a [PROFILE] line
    whose ``prompt`` value is 10 MB long appended (lines 2 and 21)."""
    lines = PROFILE.read_bytes().split(b"\n")
    huge_info = b"INFO 2025-12-23 10:00:00.500 dump " + b"x" * TEN_MB
    huge_profile = (b"[PROFILE] 2025-12-23 10:00:06.000 task=t3 thread=4 type=llm_call model=big "
                    b"duration_ms=10 prompt=" + b"y" * TEN_MB)
    body = [lines[0], huge_info] + lines[1:-1] + [huge_profile, b""]
    return write(dest, "profile_10mb_lines.log", b"\n".join(body))


def tau2_ten_mb_line(dest: Path) -> Path:
    """The three-simulation results file on ONE line, the first user message 10 MB long."""
    data = json.loads(TAU2.read_text())
    data["simulations"][0]["messages"][1]["content"] = "z" * TEN_MB
    return write(dest, "tau2_10mb_line.json", json.dumps(data).encode())


def big_profile_log(dest: Path, lines: int = 200_000, seed: int = 1) -> Path:
    """A long [PROFILE] log (about 130 bytes a line) with noise lines, for chunked loading."""
    rng = random.Random(seed)
    out = []
    for i in range(lines):
        if i % 50 == 0:
            out.append(f"INFO 2025-12-23 10:00:00.000 noise line {i}")
            continue
        ms = i * 7 % 1000
        sec = (i // 1000) % 60
        kind = rng.choice(("llm_call", "tool_call", "user_sim"))
        out.append(f"[PROFILE] 2025-12-23 10:{i // 60000 % 60:02d}:{sec:02d}.{ms:03d} task=t{i % 97} "
                   f"thread={i % 8} type={kind} model=m{i % 3} function=f{i % 5} "
                   f"duration_ms={rng.random() * 500:.3f} input_tokens={i % 1000} step={i % 30}")
    return write(dest, "big_profile.log", ("\n".join(out) + "\n").encode())


def many_runs(dest: Path, n: int = 10_000) -> list[Path]:
    """``n`` tiny MASEval runs in one folder; every 1000th is empty (a problem row each)."""
    folder = dest / "many_runs"
    folder.mkdir(parents=True, exist_ok=True)
    template = MASEVAL.read_bytes().split(b"\n")[0] + b"\n"
    paths = []
    for i in range(n):
        path = folder / f"benchmark_{i:05d}.jsonl"
        path.write_bytes(b"" if i % 1000 == 999 else template)
        paths.append(path)
    return paths


# ------------------------------------------------------------------ MassGen directories

def massgen_copy(dest: Path, name: str = "log_20250101_120000") -> Path:
    """A fresh copy of the committed MassGen log dir at ``dest/<case>/<name>``."""
    target = dest / name
    shutil.copytree(MASSGEN, target)
    return target


def massgen_status_cut(dest: Path, after: bytes) -> Path:
    root = massgen_copy(dest)
    truncated(root, MASSGEN / "status.json", after, "status.json")
    return root


def massgen_events_cut(dest: Path) -> Path:
    """coordination_events.json cut inside its 4th event (the first vote)."""
    root = massgen_copy(dest)
    truncated(root, MASSGEN / "coordination_events.json", b'"event_type": "vote_cast"', "coordination_events.json")
    return root


def massgen_only_answers(dest: Path) -> Path:
    """Missing files: no coordination_events.json and no status.json, only the answers."""
    root = massgen_copy(dest)
    (root / "coordination_events.json").unlink()
    (root / "status.json").unlink()
    return root


def massgen_empty_turn(dest: Path) -> Path:
    """A newer-layout log whose only turn_1/ is empty (killed before the first attempt)."""
    root = dest / "log_20250102_090000"
    (root / "turn_1").mkdir(parents=True)
    return root


def massgen_symlink_loop(dest: Path) -> Path:
    """Snapshot folders that point back up the tree, and a symlink to itself."""
    root = massgen_copy(dest)
    snap = root / "agent_a" / "20250101_120010_000000"
    os.symlink("..", snap / "up")
    os.symlink("../..", root / "agent_b" / "20250101_120099_000000")
    os.symlink("agent_loop", root / "agent_loop")
    return root


def massgen_status_is_dir(dest: Path) -> Path:
    """status.json is a directory: reading it fails even as root (unlike chmod 000)."""
    root = massgen_copy(dest)
    (root / "status.json").unlink()
    (root / "status.json").mkdir()
    return root


def massgen_status_dangling(dest: Path) -> Path:
    """status.json is a symlink to nothing."""
    root = massgen_copy(dest)
    (root / "status.json").unlink()
    os.symlink("no_such_file.json", root / "status.json")
    return root


def massgen_status_unreadable(dest: Path) -> Path:
    """status.json with mode 000 (only stops reads for a non-root user)."""
    root = massgen_copy(dest)
    (root / "status.json").chmod(0)
    return root


def massgen_bytes(dest: Path, name: str, data: bytes) -> Path:
    root = massgen_copy(dest)
    (root / name).write_bytes(data)
    return root


def massgen_bad_answer_bytes(dest: Path) -> Path:
    """An answer.txt holding bytes that are neither UTF-8 nor Windows-1252 (0x81)."""
    root = massgen_copy(dest)
    answer = root / "agent_a" / "20250101_120010_000000" / "answer.txt"
    answer.write_bytes(b"Old pond \x81\x8d frog\n")
    return root


def build_all(dest: Path) -> dict[str, Path]:
    """Write the generated (not committed) inputs under ``dest``; for the command line."""
    dest.mkdir(parents=True, exist_ok=True)
    return {
        "profile_10mb_lines": profile_ten_mb_lines(dest),
        "tau2_10mb_line": tau2_ten_mb_line(dest),
        "big_profile": big_profile_log(dest),
        "many_runs": many_runs(dest)[0].parent,
        "massgen_symlink_loop": massgen_symlink_loop(dest / "symlink_loop"),
        "massgen_empty_turn": massgen_empty_turn(dest / "empty_turn"),
    }


if __name__ == "__main__":
    for name, path in build_all(Path(sys.argv[1] if len(sys.argv) > 1 else "hostile_corpus")).items():
        print(f"{name}: {path}")
