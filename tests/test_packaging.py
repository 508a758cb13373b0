"""Set-up files agree with each other, the bundled samples are what the generator makes, and
the kit works installed from its wheel (not from this checkout)."""

import filecmp
import os
import re
import shutil
import site
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, SAMPLES

# Dependencies pip installs from PyPI (conda-forge has no package of them, or the kit itself).
def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _version(spec: str) -> str:
    return re.sub(r"^[A-Za-z0-9_.\-]+(\[[^\]]*\])?", "", spec.strip()).replace(" ", "")


def test_environment_yml_and_pyproject_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["dev"] + project["optional-dependencies"]["dask"]
    wanted = {_name(d): _version(d) for d in specs}
    wanted.pop("analysis-kit")  # the dev extra names the dask extra
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d): _version(d) for d in env["dependencies"] if isinstance(d, str)}
    conda.pop("python"), conda.pop("pip")
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    from_pypi = {_name(d): _version(d) for d in pip if not d.startswith("-")}  # not on conda-forge
    assert set(conda) | set(from_pypi) == set(wanted) and not set(conda) & set(from_pypi)
    both = {**conda, **from_pypi}
    assert {n: v.lstrip("=") for n, v in both.items()} == {n: wanted[n].lstrip("=") for n in both}  # same bounds
    assert "python=3.11" in env["dependencies"]
    assert any(".[dev]" in line for line in pip)
    assert project["requires-python"] == ">=3.11"
    assert project["scripts"]["analysis-kit"] == "analysis_kit.cli:main"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make report" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_bundled_samples_are_small_and_regenerable(tmp_path):
    from analysis_kit.samples import sample_paths, sample_writers, write_samples

    paths = sample_paths(SAMPLES)
    assert set(paths) == {"tau2_profile", "tau2_results", "tau2_results_rerun", "maseval", "massgen", "convex",
                          "otlp", "inspect"}
    total = sum(f.stat().st_size for f in SAMPLES.rglob("*") if f.is_file())
    assert total < 2 * 1024 * 1024
    write_samples(tmp_path, seed=7)
    assert set(sample_writers()) == set(paths)  # every sample is written by the package (a wheel has them)
    for fmt in paths:
        cmp = filecmp.dircmp(SAMPLES / fmt, tmp_path / fmt)
        assert _same_tree(cmp), f"sample_logs/{fmt} differs from the generator's output (run make samples)"


def _same_tree(cmp: filecmp.dircmp) -> bool:
    if cmp.left_only or cmp.right_only or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
    return not mismatch and not errors and all(_same_tree(sub) for sub in cmp.subdirs.values())


def test_sample_run_writes_the_samples_once_into_the_cache(tmp_path, monkeypatch):
    """With no ANALYSIS_KIT_SAMPLES, a notebook's default run is written into the user's cache."""
    from analysis_kit.samples import sample_run, samples_dir

    monkeypatch.delenv("ANALYSIS_KIT_SAMPLES", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = sample_run("tau2_profile")
    assert Path(first).is_file() and Path(first).is_relative_to(tmp_path / "cache" / "analysis_kit")
    stamp = Path(first).stat().st_mtime_ns
    pair = sample_run(["tau2_results", "tau2_results_rerun"])
    assert [Path(p).parent.name for p in pair] == ["tau2_results", "tau2_results_rerun"]
    assert Path(first).stat().st_mtime_ns == stamp  # written once, then reused
    assert samples_dir() == Path(first).parents[1]
    with pytest.raises(ValueError, match="unknown sample 'nope'"):
        sample_run("nope")


# ----------------------------------------------------------------------------- the wheel

@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The kit's wheel, built from a copy of the sources (not this checkout), installed
    without its dependencies into a fresh venv that reaches this venv's third-party
    packages through a .pth file (no network), and their data files (nbconvert's
    templates) through JUPYTER_PATH. This checkout's editable install is a .pth hook of its
    own, which a .pth-added folder does not run: the venv's analysis_kit is the wheel's."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "analysis_kit", src / "analysis_kit",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = base / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(src)], check=True, capture_output=True, text=True, timeout=300)
    (wheel,) = dist.glob("analysis_kit-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    (Path(purelib) / "dev_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "-q", str(wheel)], check=True, capture_output=True, text=True, timeout=300)
    home = base / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANALYSIS_KIT_", "JUPYTER", "PYTHON"))}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), IPYTHONDIR=str(home / ".ipython"),
               MPLCONFIGDIR=str(home / ".mpl"), JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
               JUPYTER_DATA_DIR=str(home / ".local" / "share" / "jupyter"),
               JUPYTER_RUNTIME_DIR=str(home / ".jupyter-runtime"), PATH=f"{venv / 'bin'}:{env.get('PATH', '')}")
    env.pop("MPLBACKEND", None)
    # nbconvert's templates are data files under the prefix that installed it: this venv's.
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    return {"wheel": wheel, "python": python, "bin": venv / "bin", "env": env, "cwd": home, "purelib": Path(purelib)}


def _run(installed, *args, timeout=600):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                          env=installed["env"], cwd=installed["cwd"])


@pytest.mark.slow
def test_the_wheel_carries_what_the_kit_needs(installed):
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    assert "analysis_kit/report/report.css" in names
    assert "analysis_kit/report/sections.py" in names and "analysis_kit/report/views/latency.py" in names
    assert not any(n.startswith(("notebooks/", "sample_logs/", "tests/")) for n in names)
    out = _run(installed, installed["python"], "-c",
               "import analysis_kit, sys; from analysis_kit.report.execute import kit_kernel_spec_manager as k; "
               "print(analysis_kit.__file__); print(k().get_kernel_spec('analysis-kit').argv[0] == sys.executable)")
    path, same_python = out.stdout.split()
    assert Path(path).is_relative_to(installed["purelib"]), out.stderr  # the wheel's copy, not this checkout
    assert same_python == "True"  # the report's kernel runs the installed kit's interpreter


@pytest.mark.slow
def test_the_installed_kit_makes_a_report(installed):
    """`pip install` of the wheel, then `analysis-kit report` from a folder that is not the
    checkout: every section's notebook is made from the package itself."""
    samples = installed["cwd"] / "samples"
    out = _run(installed, installed["bin"] / "analysis-kit", "samples", samples)
    assert out.returncode == 0, out.stderr
    run = samples / "tau2_results" / "tau2_airline_results.json"
    report = installed["cwd"] / "report"
    out = _run(installed, installed["bin"] / "analysis-kit", "report", run, "--out", report,
               "--sections", "overview", "latency", "comparison", "--jobs", "1")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no notebook for section" not in out.stderr
    md = (report / "ANALYSIS_REPORT.md").read_text()
    assert "## Overview" in md and "## Latency" in md and "| **[Pass rate](#overview)** | 80.6%" in md
    assert "- **Comparison**: one run: nothing to compare it with" in md
    assert (report / "ANALYSIS_REPORT.html").stat().st_size > 10_000
    assert not (installed["cwd"] / "notebooks").exists()


@pytest.mark.slow
def test_the_installed_kit_prepares_lab_and_its_sample_runs(installed):
    folder = installed["cwd"] / "analysis"
    out = _run(installed, installed["bin"] / "analysis-kit", "lab", folder, "--prepare-only")
    assert out.returncode == 0, out.stderr
    from analysis_kit.report.notebooks import notebook_text

    assert (folder / "explore.ipynb").read_text() == notebook_text("explore")
    assert str(installed["python"]) in (folder / ".analysis-kit" / "kernels" / "analysis-kit" / "kernel.json").read_text()
    out = _run(installed, installed["python"], "-c", "from analysis_kit.samples import sample_run; print(sample_run('massgen'))")
    assert Path(out.stdout.strip()).is_relative_to(installed["cwd"] / ".cache" / "analysis_kit"), out.stderr
