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
# The notebooks open these sample runs when given no run (installed elsewhere, the kit
# writes its samples once into the user's cache instead).
export ANALYSIS_KIT_SAMPLES ?= $(CURDIR)/sample_logs
export PYDEVD_DISABLE_FILE_VALIDATION := 1
unexport MPLBACKEND
$(shell mkdir -p $(LOCAL)/config $(LOCAL)/runtime $(LOCAL)/ipython $(LOCAL)/matplotlib)

.PHONY: setup report test test-fast test-slow samples notebooks lab bench clean

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

# All tests: unit tests and the slow end-to-end tests on both cores, and meanwhile nbval on
# every notebook (in its own process: nbval's cells of one notebook share a kernel, so they
# cannot be spread over xdist workers; it mostly waits on kernels, so it runs alongside).
test: $(STAMP)
	@$(PY) -m pytest -p no:cacheprovider -q --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg \
		notebooks > $(LOCAL)/nbval.log 2>&1 & nbval=$$!; \
	$(PY) -m pytest -n 2 -p no:cacheprovider tests; tests=$$?; \
	wait $$nbval; notebooks=$$?; echo "== nbval on notebooks/"; cat $(LOCAL)/nbval.log; \
	test $$tests -eq 0 && test $$notebooks -eq 0

# Everything but the slow end-to-end tests and nbval.
test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -p no:cacheprovider -m "not slow" tests

# Only the slow end-to-end tests (reports, browsers, JupyterLab).
test-slow: $(STAMP)
	$(PY) -m pytest -p no:cacheprovider -m slow tests

# Regenerate the bundled sample runs.
samples: $(STAMP)
	$(VENV)/bin/analysis-kit samples sample_logs --seed 7 --clean

# Regenerate notebooks/ from the section descriptions (analysis_kit/report/sections.py);
# a test checks that the committed notebooks are this output.
notebooks: $(STAMP)
	$(VENV)/bin/analysis-kit notebooks notebooks

# JupyterLab on notebooks/ with the kit's kernel (the bundled samples as default runs).
lab: $(STAMP)
	$(VENV)/bin/analysis-kit lab notebooks --samples sample_logs

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(LOCAL) .cache reports *.egg-info
