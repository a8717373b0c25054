# Two commands do all the set-up on a fresh machine: `make dev` and `make test`.
# `make check` is the edit-test loop: unit, functions and integration tests, no lint, no processes.
PYTHON ?= python3
VENV   := .venv
ARCHIVE_SIZES ?= 25548,100000
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

# Three workers, one test file each at a time: the suite mostly waits on emulators and processes.
PYTEST_ARGS ?= -n 3 --dist loadfile

.PHONY: dev check test lint bench bench-archive soak clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

dev: $(STAMP) ## Emulators + every function behind http://127.0.0.1:8080 (Ctrl-C stops all)
	$(VENV)/bin/python -m devtools.serve

check: $(STAMP) ## The edit-test loop: unit, functions and integration tests (under two minutes)
	$(VENV)/bin/python -m pytest tests/unit tests/functions tests/integration $(PYTEST_ARGS)

test: $(STAMP) ## Lint, then the whole suite, as CI runs it (starts its own emulators and processes)
	bash devtools/ensure-system-packages.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; exit 1; fi; exit $$rc

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP) ## Cold start, latency, floor and Firestore operation counts
	$(VENV)/bin/python -m devtools.bench
	$(VENV)/bin/python -m devtools.archive_bench --sizes $(ARCHIVE_SIZES)

bench-archive: $(STAMP) ## Archive import only: wall time, items/s, peak memory (ARCHIVE_SIZES=25548,100000)
	$(VENV)/bin/python -m devtools.archive_bench --sizes $(ARCHIVE_SIZES)

soak: $(STAMP) ## Chaos soak: load, outages and kills for SOAK_SECONDS (300) from SOAK_SEED (15), then the audit
	$(VENV)/bin/python -m devtools.soak

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
