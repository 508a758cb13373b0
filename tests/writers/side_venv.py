"""An interpreter of its own for a framework whose writer the tests run but the project's
venv should not hold (MassGen's pins conflict with it; Phoenix is a whole server): a venv at
the repository root built from a pinned requirements file on first use, rebuilt when the file
changes, or the interpreter an environment variable names."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


def side_python(name: str, env_file: Path, packages: tuple[str, ...] = (), env_var: str | None = None) -> Path:
    """``$env_var`` when set, else ``.venv-<name>/bin/python``, built from ``env_file`` (and
    ``packages``), all installed with ``--no-deps`` so that the pins are exactly what runs.

    >>> side_python("massgen", Path("tests/writers/massgen-env.txt"))     # doctest: +SKIP
    PosixPath('.../.venv-massgen/bin/python')
    """
    given = os.environ.get(env_var) if env_var else None
    if given:
        return Path(given)
    venv = REPO / f".venv-{name}"
    python, stamp = venv / "bin" / "python", venv / ".installed"
    wanted = hashlib.sha256(env_file.read_bytes() + " ".join(packages).encode()).hexdigest()[:16]
    if python.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps"]
    subprocess.run(pip + ["-r", str(env_file)], check=True)
    if packages:
        subprocess.run(pip + list(packages), check=True)
    stamp.write_text(wanted)
    return python
