# auditor: every set-up step lives here. `make run` and `make test` work on a fresh Debian machine.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# WeasyPrint's Debian packages are listed once, in auditor/render/__init__.py (the PDF error names them).
WEASYPRINT_DEBS := $(shell $(PYTHON) -c "from auditor.render import WEASYPRINT_DEBS; print(WEASYPRINT_DEBS)")
ifeq ($(WEASYPRINT_DEBS),)
$(error cannot read WEASYPRINT_DEBS from auditor/render/__init__.py with $(PYTHON))
endif
# The browser the HTML report's tests, bench and screenshot drive, listed once in tests/browser.py.
BROWSER_DEBS := $(shell $(PYTHON) tests/browser.py debs)
ifeq ($(BROWSER_DEBS),)
$(error cannot read BROWSER_DEBS from tests/browser.py with $(PYTHON))
endif
AS_OF ?=
# The uv `make install` fills the venv with: the dev extra's own requirement, read from pyproject.toml.
UV_REQUIREMENT := $(shell $(PYTHON) -c "import tomllib; dev = tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['dev']; print(next(d.split(';')[0].strip() for d in dev if d.startswith('uv')))")
ifeq ($(UV_REQUIREMENT),)
$(error cannot read the uv requirement from pyproject.toml's dev extra with $(PYTHON))
endif
# One more than the cores this process may use, at most 8 (a container's CPU quota does not show
# in the affinity mask: a 2-CPU container on a 64-core host must not start 65 workers).
PYTEST_WORKERS ?= $(shell $(PYTHON) -c "import os; print(min(len(os.sched_getaffinity(0)) + 1, 8))")
ifeq ($(PYTEST_WORKERS),)
$(error cannot count the cores with $(PYTHON) for PYTEST_WORKERS; set PYTEST_WORKERS=N)
endif
BENCH_DEVICES ?=
BENCH_FLAGS ?= --snapshot
BENCH_TENANTS ?= 200
BENCH_MACS ?= 300
BENCH_TENANTS_FLAGS ?=

.PHONY: help install venv system-deps run test lint typecheck contracts pytest bench bench-html bench-tenants golden sample docs dist wheel-check clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-12s %s\n",$$1,$$2}'

install: $(STAMP) ## Create .venv with auditor and its dev tools (and WeasyPrint's libraries, Chromium)

$(STAMP): pyproject.toml
	@# Debian's packages (system-deps, from Debian's mirrors) and the venv (from PyPI) do not
	@# depend on each other: both are fetched and installed side by side, the packages' output
	@# printed after the venv's; either failing fails the install.
	@deps=$$(mktemp); $(MAKE) --no-print-directory system-deps >"$$deps" 2>&1 & apt=$$!; \
	$(MAKE) --no-print-directory venv; venv=$$?; \
	wait $$apt; debs=$$?; cat "$$deps"; rm -f "$$deps"; \
	[ $$venv = 0 ] && [ $$debs = 0 ]
	@touch $(STAMP)

venv: ## The venv with auditor and its dev tools (install = this + system-deps)
	$(PYTHON) -m venv $(VENV)
	@# uv (the dev extra's own) fills the venv in seconds where pip takes about two minutes;
	@# pip does it alone when uv cannot be installed or cannot install.
	if $(BIN)/pip install --quiet '$(UV_REQUIREMENT)' \
	  && $(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'; then :; else \
	  echo "uv could not install the venv: installing with pip"; \
	  $(BIN)/pip install --quiet --upgrade pip && $(BIN)/pip install --quiet -e '.[dev]'; fi

system-deps: ## Install WeasyPrint's libraries and Chromium when missing (needs root), else say what to install
	@missing=""; debs=""; \
	for lib in libpango-1.0.so.0 libpangoft2-1.0.so.0 libharfbuzz-subset.so.0; do \
	  /sbin/ldconfig -p 2>/dev/null | grep -q "$$lib" || missing="$$missing $$lib"; done; \
	fc-list 2>/dev/null | grep -qi "DejaVu Sans" || missing="$$missing fonts-dejavu-core"; \
	fc-list 2>/dev/null | grep -qi "Droid Sans Fallback" || missing="$$missing fonts-droid-fallback"; \
	[ -z "$$missing" ] || debs="$(WEASYPRINT_DEBS)"; \
	browser=""; command -v chromium >/dev/null && command -v chromedriver >/dev/null || browser="$(BROWSER_DEBS)"; \
	if [ -z "$$debs$$browser" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  [ -z "$$debs" ] || echo "Installing WeasyPrint system libraries:$$missing"; \
	  [ -z "$$browser" ] || echo "Installing Chromium and ChromeDriver for the HTML report tests: $$browser"; \
	  set -- $$debs $$browser; apt-get update -qq && apt-get install -y -qq --no-install-recommends "$$@" >/dev/null; \
	else \
	  [ -z "$$debs" ] || echo "WeasyPrint needs system libraries that are missing:$$missing"; \
	  [ -z "$$browser" ] || echo "The HTML report tests need Chromium and ChromeDriver, which are missing."; \
	  set -- $$debs $$browser; echo "Install them with: sudo apt-get install -y $$*"; exit 1; \
	fi

run: install ## Audit the bundled sample tenant; reports land in reports/
	$(BIN)/auditor run --out reports $(if $(AS_OF),--as-of $(AS_OF),--as-of 2026-09-01) --no-history

test: install lint contracts ## Install, then ruff + import contract, then mypy beside the whole suite
	@# mypy with a cold cache (CI's clean clone) is ~20 s on one core: it runs beside the suite
	@# instead of before it, its report printed after the suite's; either failing fails the target.
	@typed=$$(mktemp); $(BIN)/mypy >"$$typed" 2>&1 & mypy=$$!; \
	$(MAKE) --no-print-directory pytest; tests=$$?; \
	wait $$mypy; types=$$?; echo "$(BIN)/mypy"; cat "$$typed"; rm -f "$$typed"; \
	[ $$tests = 0 ] && [ $$types = 0 ]

lint: install ## ruff lint and format check
	$(BIN)/ruff check auditor tests bench
	$(BIN)/ruff format --check auditor tests bench

typecheck: install ## mypy --strict on the package
	$(BIN)/mypy

contracts: install ## Import-layer contract (import-linter)
	$(BIN)/lint-imports

pytest: install ## The pytest suite (one xdist worker per core, plus one)
	@# The suite starts ~100 interpreters (xdist workers, CLI and wheel subprocesses): with
	@# PYTHONDONTWRITEBYTECODE set, as on some CI images, each compiled pandas, the Graph SDK and
	@# WeasyPrint from source again (~2 s apiece; uv installs no bytecode). Here they are cached.
	@# worksteal: a worker that runs out takes tests queued for the other instead of idling while
	@# it finishes its share (the default `load` left one worker ~40 s alone at the end).
	@# One worker more than cores: a worker waiting on Chromium, a loopback server's retry delay
	@# or a child process leaves its core to the extra one (on 2 cores, 3 workers ended the same
	@# CPU work ~4.5 % sooner than 2 in two paired runs).
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal -q

dist: install ## Build the sdist and the wheel into dist/ (what `pip install` and the Dockerfile take)
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist .

wheel-check: dist ## The Dockerfile's steps on the wheel: fresh venv, sample audit outside the repo, verify
	PATH="$(CURDIR)/$(BIN):$$PATH" sh docker/check-wheel.sh dist/auditor-*-py3-none-any.whl

bench: install ## auditor run vs bench/baseline.py: BENCH_DEVICES="100000" (default "100000 500000"), BENCH_FLAGS="--repeat 3 --extras"
	@# As for pytest: with PYTHONDONTWRITEBYTECODE set, every timed run compiled pandas and
	@# WeasyPrint from source (~1 s of prepare, ~2 s of start-up at 100k), which an installed
	@# auditor (pip and pipx write bytecode) never does.
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m bench $(foreach n,$(or $(BENCH_DEVICES),100000 500000),--devices $(n)) $(BENCH_FLAGS)

bench-html: install ## report.html at scale in headless Chromium: size, time to interactive, filters
	$(BIN)/python -m bench.html $(foreach n,$(or $(BENCH_DEVICES),100000),--devices $(n))

bench-tenants: install ## run --tenants over BENCH_TENANTS=200 loopback Graph tenants × BENCH_MACS=300 vs one run per tenant (smoke: BENCH_TENANTS=6 BENCH_MACS=40)
	$(BIN)/python -m bench.tenants --tenants $(BENCH_TENANTS) --macs $(BENCH_MACS) $(BENCH_TENANTS_FLAGS)

golden: install ## Regenerate golden files after an intended change; review the diff
	$(BIN)/pytest -q -p no:xdist tests -k golden --update-golden

sample: install ## Regenerate sample_data/ with the deterministic generator
	$(BIN)/auditor sample --devices 300 --seed 7 --out sample_data --as-of 2026-09-01

docs: install ## Regenerate docs/rules.md, docs/schema.md and the README's pictures (PDF page 1, HTML report; the sample after its August run)
	$(BIN)/auditor rules --format markdown > docs/rules.md
	$(BIN)/python -m auditor.normalize > docs/schema.md
	rm -rf build/docs && $(BIN)/auditor sample --devices 300 --seed 7 --out build/docs/2026-08 --as-of 2026-08-01
	$(BIN)/auditor run --input build/docs/2026-08 --out build/docs/2026-08-reports --as-of 2026-08-01 --history build/docs/history.sqlite --format json
	$(BIN)/auditor run --input sample_data --out build/docs --as-of 2026-09-01 --history build/docs/history.sqlite --format pdf,html
	$(BIN)/python -c "import pypdfium2 as p; p.PdfDocument('build/docs/report.pdf')[0].render(scale=1.4).to_pil().save('docs/sample-report-page1.png')"
	$(BIN)/python tests/browser.py screenshot build/docs/report.html docs/sample-report-html.png

clean: ## Remove the venv, caches and outputs
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis reports build dist bench/out
