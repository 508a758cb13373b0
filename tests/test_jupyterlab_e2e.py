"""End to end: the explore notebook in a real JupyterLab, driven by headless Chromium.

``analysis-kit lab`` starts JupyterLab on 127.0.0.1 (free port, a token, every
Jupyter/IPython dir in tmp) on a fresh copy of the kit's notebooks, with the kernel it
declares itself (nothing registered beforehand); a freshly written sample run is the
notebooks' default. The browser runs all cells and waits for the explorers (in tabs); picks
another task and checks that the transcript changes; picks a failure in the Failures tab
and checks that the Task tab comes up showing that failure's own trial; picks a slow call
in the Latency tab and checks that the Task tab marks it. Screenshots go to tmp_path.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
KERNEL = "analysis-kit"
SERVER_START_S = 60
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)  # polling interval, not a fixed wait for a result
    raise RuntimeError(f"jupyter lab did not answer within {SERVER_START_S} s:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    """Terminate the server (it shuts its kernels down); kill its process group on timeout."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    try:  # whatever the session started (kernels) goes with it: no server left behind
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


@pytest.fixture
def lab(tmp_path):
    """``analysis-kit lab ROOT`` serving the kit's notebooks; yields (base url, token, samples)."""
    from analysis_kit.samples import write_samples

    root = tmp_path / "root"
    samples = tmp_path / "samples"
    write_samples(samples)
    dirs = {name: tmp_path / name for name in ("config", "data", "runtime", "ipython", "mpl", "home")}
    for d in dirs.values():
        d.mkdir()
    env = dict(os.environ)
    env.update({
        "JUPYTER_CONFIG_DIR": str(dirs["config"]), "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]), "IPYTHONDIR": str(dirs["ipython"]),
        "MPLCONFIGDIR": str(dirs["mpl"]), "HOME": str(dirs["home"]), "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    })
    env.pop("MPLBACKEND", None)
    env.pop("ANALYSIS_KIT_SAMPLES", None)
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp_path / "jupyterlab.log"
    cmd = [sys.executable, "-m", "analysis_kit.cli", "lab", str(root), "--samples", str(samples),
           "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}",
           "--ServerApp.terminals_enabled=False", "--LabApp.extension_manager=readonly",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers often run as root; the server refuses otherwise
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(f"{base}/api/status?token={token}", proc, log)
        assert (root / "explore.ipynb").exists() and (root / "overview.ipynb").exists()
        yield base, token, samples
    finally:
        _stop(proc)


def _transcript_text(page) -> str:
    return page.inner_text(".ak-transcript-out")


# JupyterLab may ask which kernel to use while the session starts (a race on a busy machine,
# even though the notebook names a registered kernel); the preselected one is the notebook's.
_ACCEPT_KERNEL_DIALOG = """
  const dialog = document.querySelector('.jp-Dialog');
  if (dialog && /kernel/i.test(dialog.innerText)) {
    const accept = dialog.querySelector('.jp-mod-accept');
    if (accept) accept.click();
    return false;
  }
"""


def _wait_until(page, condition: str, arg=None, timeout_ms: int = 60_000) -> None:
    """Poll ``condition`` (a JS expression, ``arg`` bound) in the page, answering a kernel
    dialog should one appear."""
    page.wait_for_function(f"(arg) => {{ {_ACCEPT_KERNEL_DIALOG} return Boolean({condition}); }}",
                           arg=arg, polling=250, timeout=timeout_ms)


def _tab(page, title: str) -> None:
    page.click(f".ak-explorers .lm-TabBar-tab:has-text('{title}')")


def _selected_tab(page) -> str:
    return page.inner_text(".ak-explorers .lm-TabBar-tab.lm-mod-current").strip()


def _failure_of_a_later_trial(samples: Path) -> tuple[int, str, int]:
    """(position in the failures list, task id, trial) of a failure whose trial is not its
    task's first one: opening the task's first trial instead would be the old bug."""
    import analysis_kit as ak
    from analysis_kit.samples import sample_paths

    run = ak.load(sample_paths(samples)["tau2_results"])
    failures = run.failures.reset_index(drop=True)
    first = run.tasks.groupby("task_id")["trial"].min()
    for i, row in failures.iterrows():
        if row["trial"] != first[row["task_id"]]:
            return i, str(row["task_id"]), int(row["trial"])
    raise AssertionError("the sample run should have a failure in a later trial")


def test_explore_notebook_in_jupyterlab(lab, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM}: the JupyterLab test needs a browser")
    from playwright.sync_api import sync_playwright

    base, token, samples = lab
    position, failed_task, failed_trial = _failure_of_a_later_trial(samples)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(f"{base}/lab/tree/explore.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible")
            # The notebook's own kernel, started and idle ("No Kernel" shows idle too).
            _wait_until(page, "document.querySelector(\".jp-Notebook-ExecutionIndicator[data-status='idle']\")"
                              " && /analysis-kit/.test(document.querySelector('.jp-Toolbar-kernelName').innerText)")
            page.click(".jp-Notebook")  # focus the notebook so the Run menu targets it
            page.click("div.lm-MenuBar-itemLabel:text-is('Run')")
            page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
            _wait_until(page, "(() => { const o = document.querySelector('.ak-transcript-out');"
                              " return o && o.innerText.trim().length > 0; })()", timeout_ms=90_000)
            assert _selected_tab(page) == "Task"
            select = page.wait_for_selector(".ak-task-select select", state="visible")
            before = _transcript_text(page)
            header_before = page.inner_text(".ak-task-header-out")
            options = page.eval_on_selector_all(".ak-task-select select option",
                                                "els => els.map(e => [e.value, e.selected])")
            assert len(options) >= 2, f"the sample run should list several tasks, got {options}"
            other = next(value for value, selected in options if not selected)
            select.select_option(value=other)
            _wait_until(page, "document.querySelector('.ak-transcript-out').innerText !== arg", arg=before)
            after = _transcript_text(page)
            assert after != before
            assert page.inner_text(".ak-task-header-out") != header_before

            # Failures tab -> a failure of a later trial -> the Task tab shows that very trial.
            _tab(page, "Failures")
            failures = page.wait_for_selector(".ak-failure-select select", state="visible")
            header_now = page.inner_text(".ak-task-header-out")
            failures.select_option(index=position)
            expected = f"task {failed_task} trial {failed_trial}:"
            _wait_until(page, "document.querySelector('.ak-explorers .lm-TabBar-tab.lm-mod-current')"
                              ".innerText.trim() === 'Task'")  # the click's result comes on screen
            _wait_until(page, "document.querySelector('.ak-task-header-out').innerText.trim().startsWith(arg)",
                        arg=expected)
            assert page.is_visible(".ak-task-header-out")
            header = page.inner_text(".ak-task-header-out").strip()
            assert header.startswith(expected) and header != header_now
            page.screenshot(path=str(tmp_path / "failure-to-trial.png"), full_page=True)

            # Latency tab -> the slowest call -> the Task tab marks it in the events table.
            _tab(page, "Latency")
            calls = page.wait_for_selector(".ak-calls-select select", state="visible")
            calls.select_option(index=0)
            _wait_until(page, "document.querySelector('.ak-task-events-out').innerText.includes('\u25b6')")
            _wait_until(page, "document.querySelector('.ak-explorers .lm-TabBar-tab.lm-mod-current')"
                              ".innerText.trim() === 'Task'")
            assert page.is_visible(".ak-task-events-out")
            page.screenshot(path=str(tmp_path / "explore.png"), full_page=True)
            # Hostile text in sample messages is shown as text, never run as script.
            assert page.evaluate("() => window.__ak_pwned === undefined")
            errors = page.query_selector_all(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            tracebacks = [e.inner_text() for e in errors if "Traceback" in e.inner_text()]
            assert not tracebacks, tracebacks[0][:2000]
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert (tmp_path / "explore.png").stat().st_size > 0
