# Two commands do all the set-up on a fresh machine: `make report` and `make test`.
# Both create .venv if absent, install the package with its dev extras and register the
# Jupyter kernel the notebooks name ("analysis-kit") inside the venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
KERNEL := analysis-kit

# Keep Jupyter, IPython, matplotlib and the kit's cache out of $HOME.
LOCAL := $(CURDIR)/.jupyter-local
export JUPYTER_CONFIG_DIR := $(LOCAL)/config
export JUPYTER_RUNTIME_DIR := $(LOCAL)/runtime
export IPYTHONDIR := $(LOCAL)/ipython
export MPLCONFIGDIR := $(LOCAL)/matplotlib
export ANALYSIS_KIT_CACHE_DIR ?= $(CURDIR)/.cache/analysis_kit
export PYDEVD_DISABLE_FILE_VALIDATION := 1
unexport MPLBACKEND
$(shell mkdir -p $(LOCAL)/config $(LOCAL)/runtime $(LOCAL)/ipython $(LOCAL)/matplotlib)

.PHONY: setup report test test-fast test-slow samples bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (analysis-kit)"
	touch $(STAMP)

# The report of every bundled sample run, under reports/.
report: $(STAMP)
	$(VENV)/bin/analysis-kit report-samples sample_logs --out reports

# All tests: unit tests, nbval on every notebook, and the slow end-to-end tests.
test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup -p no:cacheprovider tests
	$(PY) -m pytest -p no:cacheprovider --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks

# Everything but the slow end-to-end tests.
test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -m "not slow" tests

# Only the slow end-to-end tests (reports, browsers, JupyterLab).
test-slow: $(STAMP)
	$(PY) -m pytest -m slow tests

# Regenerate the bundled sample runs.
samples: $(STAMP)
	$(VENV)/bin/analysis-kit samples sample_logs --seed 7 --clean

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(LOCAL) .cache reports *.egg-info
