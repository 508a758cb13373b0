"""The Inspect AI sample run: a ``.eval`` log written by inspect-ai itself, shipped as it is.

Unlike the other samples it is not generated here: an Inspect log is only real when
inspect-ai writes it, and inspect-ai is a development dependency (its writer is
``tests/writers/inspect_logs.py``: a scripted mockllm ReAct agent with tools, one raising,
two scorers, epochs 2, a sample that errors, one stopped by the message limit, text that
must be escaped). ``write`` copies the packaged log, so ``seed`` and ``size`` do not apply.
To regenerate it::

    .venv/bin/python tests/writers/inspect_logs.py /tmp/inspect --kind toolbox
    cp /tmp/inspect/*_toolbox_model.eval analysis_kit/samples/inspect_toolbox.eval && make samples
"""

from __future__ import annotations

from pathlib import Path

from . import copy_packaged

FORMAT = "inspect"
FILE_NAME = "toolbox.eval"


def write(directory: str | Path, *, seed: int = 7, size: int = 1) -> Path:
    """Copy the packaged Inspect log into ``directory`` and return its path.

    >>> import tempfile
    >>> write(tempfile.mkdtemp()).name
    'toolbox.eval'
    """
    return copy_packaged("inspect_toolbox.eval", Path(directory) / FILE_NAME)
