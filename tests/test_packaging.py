"""Set-up files agree with each other, and the bundled samples are what the generator makes."""

import filecmp
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, SAMPLES


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_and_pyproject_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = {_name(d) for d in project["dependencies"] + extras["dev"] + extras["dask"]} - {"analysis-kit"}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)} - {"python", "pip"}
    from_pypi = {_name(d) for d in pip if not d.startswith("-")}  # not on conda-forge
    assert wanted == conda | from_pypi and not conda & from_pypi
    assert "python=3.11" in env["dependencies"]
    assert any(".[dev]" in line for line in pip)
    assert project["requires-python"] == ">=3.11"
    assert project["scripts"]["analysis-kit"] == "analysis_kit.cli:main"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make report" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_bundled_samples_are_small_and_regenerable(tmp_path):
    from analysis_kit.samples import sample_paths, write_samples

    paths = sample_paths(SAMPLES)
    assert set(paths) == {"tau2_profile", "tau2_results", "tau2_results_rerun", "maseval", "massgen", "convex"}
    total = sum(f.stat().st_size for f in SAMPLES.rglob("*") if f.is_file())
    assert total < 2 * 1024 * 1024
    write_samples(tmp_path, seed=7)
    for fmt in paths:
        cmp = filecmp.dircmp(SAMPLES / fmt, tmp_path / fmt)
        assert _same_tree(cmp), f"sample_logs/{fmt} differs from the generator's output (run make samples)"


def _same_tree(cmp: filecmp.dircmp) -> bool:
    if cmp.left_only or cmp.right_only or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
    return not mismatch and not errors and all(_same_tree(sub) for sub in cmp.subdirs.values())
