# labkit: two commands do all the set-up on a machine with Python 3.10-3.13 and pip.
# Without make (Windows PowerShell...): README, "Without make" gives the same commands.
#   make lab    install (once) and open the labs in JupyterLab
#   make test   install (once), lint (ruff) and run every test: unit, notebooks (nbval), browser
# Versions live in pyproject.toml only; environment.yml installs the same package for conda.

PYTHON ?= python3
VENV   ?= .venv
# A venv keeps its Python in Scripts\ on Windows (make from Git Bash or MSYS2), bin/ elsewhere.
PY     := $(VENV)/$(if $(filter Windows_NT,$(OS)),Scripts/python.exe,bin/python)
# Course machines keep the MobileNet weights beside the checkout; copied into the Keras
# cache when present (nothing happens elsewhere: Keras downloads them where there is internet).
SHARED_WEIGHTS ?= ../shared/weights
KERAS_CACHE    := $(or $(KERAS_HOME),$(HOME)/.keras)/models
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
# Kernels from this environment, never a user-wide "python3" kernelspec pointing elsewhere.
export JUPYTER_PREFER_ENV_PATH := 1

.PHONY: lab test notebooks bench check-browser keras-cache student

lab: $(VENV)/.installed-lab keras-cache
	$(PY) -m jupyter lab notebooks/

test: $(VENV)/.installed-test keras-cache
	$(PY) -m ruff check labkit tests
	$(PY) -m pytest tests notebooks $(NBVAL)

# Re-execute the labs and save their outputs, after an intentional change; then commit them.
notebooks: $(VENV)/.installed-test keras-cache
	$(PY) -m jupyter nbconvert --to notebook --execute --inplace \
	  --ExecutePreprocessor.timeout=900 notebooks/lab*.ipynb

bench: $(VENV)/.installed-lab keras-cache
	$(PY) -m labkit.bench

# For instructors: student versions (solutions stubbed, answers emptied) and the answer key.
student: $(VENV)/.installed-test
	$(PY) -m labkit.instructor build notebooks/ build/

# For instructors: do the labs run in a real browser on this machine?
check-browser: $(VENV)/.installed-test keras-cache
	$(PY) -m pytest tests/e2e -v

$(VENV)/.installed-%: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@# labkit asked for tensorflow-cpu until it asked for tensorflow: an older .venv has it, and
	@# the two write the same package. Remove it, then restore the files it shared.
	@if $(PY) -m pip show tensorflow-cpu >/dev/null 2>&1; then \
	  echo "replacing tensorflow-cpu by tensorflow"; \
	  $(PY) -m pip uninstall --quiet -y tensorflow-cpu && \
	  $(PY) -m pip install --quiet --force-reinstall --no-deps "tensorflow>=2.16,<3"; fi
	$(PY) -m pip install --quiet -e ".[$*]"
	touch $@

keras-cache:
	@if [ -d "$(SHARED_WEIGHTS)" ]; then mkdir -p "$(KERAS_CACHE)" && \
	  for f in "$(SHARED_WEIGHTS)"/*; do \
	    [ -e "$(KERAS_CACHE)/$$(basename "$$f")" ] || cp "$$f" "$(KERAS_CACHE)/"; done; fi
