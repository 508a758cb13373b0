"""Execute section notebooks with papermill: a kernel that exists, a per-cell timeout always.

papermill has no execution timeout by default and fails with NoSuchKernel when the
notebook's kernelspec is not registered; both are settled here.

Starting a kernel and importing pandas, matplotlib and the kit costs more than most sections
take to run, so a report keeps one :class:`WarmKernel` per worker: papermill runs each
section on it (``km=``), after a prelude that resets the namespace. Modules stay imported;
variables, figures and settings do not carry over from one section to the next.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

NOTEBOOK_KERNEL = "analysis-kit"  # the kernelspec name the notebooks carry
DEFAULT_TIMEOUT_S = 600


def kernel_argv(python: str | None = None) -> list[str]:
    """The command of an IPython kernel on ``python`` (default: this interpreter)."""
    return [python or sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]


def kit_kernel_spec_manager():
    """A KernelSpecManager whose ``analysis-kit`` kernel runs this very interpreter,
    whatever is registered: a report's sections must import the same kit (an installed
    wheel, not a checkout another environment registered). Other names resolve as usual.
    """
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    class KitKernelSpecManager(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            if kernel_name != NOTEBOOK_KERNEL:
                return super().get_kernel_spec(kernel_name)
            try:
                from ipykernel.kernelspec import RESOURCES as resource_dir
            except ImportError:  # pragma: no cover - ipykernel is a dependency
                resource_dir = ""
            return KernelSpec(argv=kernel_argv(), display_name="Python (analysis-kit)", language="python",
                              resource_dir=str(resource_dir), name=NOTEBOOK_KERNEL,
                              metadata={"debugger": True})

    return KitKernelSpecManager()


def kernel_manager(kernel: str | None = None):
    """An AsyncKernelManager for ``kernel`` (default: the kit's kernel on this interpreter)."""
    from jupyter_client.manager import AsyncKernelManager

    return AsyncKernelManager(kernel_name=kernel or NOTEBOOK_KERNEL, kernel_spec_manager=kit_kernel_spec_manager())


def kernel_name(preferred: str = NOTEBOOK_KERNEL) -> str:
    """The kernel sections run on: always the kit's, on this interpreter (see
    :func:`kit_kernel_spec_manager`), so nothing needs registering first.

    >>> kernel_name()
    'analysis-kit'
    """
    return preferred


def execute(notebook: Any, output: str | os.PathLike, parameters: dict[str, Any], *,
            timeout: float = DEFAULT_TIMEOUT_S, kernel: str | None = None,
            cwd: str | os.PathLike | None = None, km: Any = None) -> Path:
    """Run ``notebook`` (a path or a NotebookNode) with ``parameters`` (typed values) into
    ``output``; return its path.

    Raises papermill's ``PapermillExecutionError`` when a cell fails and nbclient's
    ``CellTimeoutError`` when one runs past ``timeout`` seconds; the output notebook is
    written either way, with the error in it. ``cwd`` makes papermill chdir the whole
    process: leave it None when sections run in threads (every path passed is absolute).
    Without ``km`` the notebook runs on a fresh kernel of this interpreter.

    >>> execute(section_notebook(section("latency")), "/tmp/latency.ipynb", {"run_path": "run.log"})  # doctest: +SKIP
    """
    import nbformat
    import papermill

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    source = notebook if isinstance(notebook, nbformat.NotebookNode) else str(notebook)
    kernel = kernel or kernel_name()
    papermill.execute_notebook(
        source, str(output), parameters=dict(parameters),
        kernel_name=kernel, execution_timeout=timeout,
        cwd=str(cwd) if cwd is not None else None, progress_bar=False,
        log_output=False, request_save_on_cell_execute=False,  # one write at the end: saving
        # after every cell cost more than most cells take
        km=km if km is not None else kernel_manager(kernel),
    )
    return output


# Runs once per kernel, while the parent loads the run: pays the imports up front.
WARM_UP = """\
%matplotlib inline
import importlib
for _name in ("pandas", "matplotlib.pyplot", "seaborn", "analysis_kit", "analysis_kit.safe", "analysis_kit.report",
              "analysis_kit.report.display", "analysis_kit.report.headline", "analysis_kit.samples",
              "analysis_kit.analyses", "analysis_kit.plots"):
    try:
        importlib.import_module(_name)
    except Exception:  # a module that fails to import fails in its section, with its error
        pass
"""
# Runs before every section: a clean namespace and no figures left over. (IPython's
# reset() also rotates the history database, which costs more than most sections.)
PRELUDE = """\
_ip = get_ipython()
for _name in [n for n in _ip.user_ns if n not in _ip.user_ns_hidden and not n.startswith("_")]:
    del _ip.user_ns[_name]
import matplotlib.pyplot as _plt
_plt.close("all")
del _plt, _ip, _name
"""
# No history database for report kernels: nobody reads it and every cell would write to it.
# Kernel-process warnings ("running over TCP without encryption", a local
# kernel on loopback) are noise in a report run: errors still show, cell output is unaffected.
KERNEL_ARGUMENTS = ["--HistoryManager.enabled=False", "--IPKernelApp.log_level=ERROR"]


def _snippet(code: str, kernel: str):
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell(code)])
    nb.metadata.kernelspec = {"name": kernel, "display_name": kernel, "language": "python"}
    return nb


class WarmKernel:
    """One kernel kept alive across the sections one worker runs.

    >>> with WarmKernel("analysis-kit") as warm:                                  # doctest: +SKIP
    ...     warm.execute("notebooks/latency.ipynb", "/tmp/l.ipynb", {}, timeout=60)
    """

    def __init__(self, kernel: str | None = None, *, startup_timeout: float = 60):
        self.kernel = kernel or kernel_name()
        self.startup_timeout = startup_timeout
        self.km = None

    def start(self) -> "WarmKernel":
        """Start the kernel and import the kit in it; on any failure fall back to a fresh
        kernel per section (slower, same results)."""
        import papermill

        self.km = kernel_manager(self.kernel)
        try:
            papermill.execute_notebook(_snippet(WARM_UP, self.kernel), None, kernel_name=self.kernel,
                                       progress_bar=False, execution_timeout=self.startup_timeout,
                                       start_timeout=self.startup_timeout, km=self.km,
                                       extra_arguments=KERNEL_ARGUMENTS)
        except Exception:
            self.shutdown()
        return self

    def execute(self, notebook: Any, output: str | os.PathLike, parameters: dict[str, Any],
                *, timeout: float = DEFAULT_TIMEOUT_S) -> Path:
        """Like :func:`execute`, on this kernel; a timeout or a dead kernel gets a new one."""
        if self.km is None:
            return execute(notebook, output, parameters, timeout=timeout, kernel=self.kernel)
        import copy

        import nbformat
        from nbformat.v4 import new_code_cell

        # The reset runs as a first cell tagged "remove" (exports drop it): one papermill
        # run per section instead of two.
        nb = copy.deepcopy(notebook) if isinstance(notebook, nbformat.NotebookNode) \
            else nbformat.read(str(notebook), as_version=4)
        prelude = new_code_cell(PRELUDE, metadata={"tags": ["remove", "ak-prelude"]})
        prelude.id = "ak-prelude"
        nb.cells.insert(0, prelude)
        try:
            return execute(nb, output, parameters, timeout=timeout, kernel=self.kernel, km=self.km)
        except Exception as exc:
            if type(exc).__name__ != "PapermillExecutionError":  # the kernel may be stuck or gone
                self.shutdown()
                self.start()
            raise

    def shutdown(self) -> None:
        km, self.km = self.km, None
        if km is None:
            return
        from jupyter_core.utils import run_sync

        try:
            run_sync(km.shutdown_kernel)(now=True)
        except Exception:  # already dead: nothing to stop
            pass

    def __enter__(self) -> "WarmKernel":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


def describe_error(exc: BaseException) -> str:
    """A one-paragraph account of why a section failed (still untrusted: escape to show)."""
    ename = getattr(exc, "ename", None)
    if ename:  # PapermillExecutionError: the kernel's exception name and message
        return f"{ename}: {getattr(exc, 'evalue', '')}".strip()
    name = type(exc).__name__
    text = str(exc).strip()
    if name == "CellTimeoutError":
        return f"CellTimeoutError: a cell ran past the per-cell timeout ({text.splitlines()[0] if text else ''})"
    return f"{name}: {text}" if text else name


if __name__ == "__main__":  # pragma: no cover - manual use: python -m analysis_kit.report.execute NB OUT
    execute(sys.argv[1], sys.argv[2], {})
