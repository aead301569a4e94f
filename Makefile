# Kho — the two commands a new user types: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
DATA   ?= data
export KHO_DATA_DIR ?= $(abspath $(DATA))

.PHONY: run test test-virtuoso setup system browser servers demo serve lint format bench bench-load bench-1m clean

run: demo  ## set everything up, build the demo repository, serve on http://127.0.0.1:5000 (waitress)
	@cat $(KHO_DATA_DIR)/demo-users.txt 2>/dev/null | sed 's/^/  demo account: /' || true
	@$(WITH_REGISTRIES) $(BIN)/kho serve --host 127.0.0.1 --port 5000

# The registry simulator (docs/registries.md) stands in for the four national registries on
# 127.0.0.1:5050 while the demo's links are checked and while Kho serves; it stops with them.
WITH_REGISTRIES = $(BIN)/kho registries simulate --port 5050 >$(KHO_DATA_DIR)/registry-sim.log 2>&1 & \
	sim=$$!; trap 'kill $$sim 2>/dev/null' EXIT INT TERM; \
	$(BIN)/kho registries ping --wait 60 >/dev/null || { cat $(KHO_DATA_DIR)/registry-sim.log; exit 1; };

setup: $(VENV)/.installed

# Debian packages Kho runs: Tesseract with Vietnamese, Ghostscript and qpdf for PDF/A (ocrmypdf),
# poppler for page rendering, fonts with Vietnamese glyphs for the demo documents.
APT_PACKAGES := tesseract-ocr tesseract-ocr-vie ghostscript qpdf poppler-utils fonts-dejavu-core \
	fonts-freefont-ttf fonts-liberation2 pngquant unpaper
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
system:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages: $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(VENV)/.installed: pyproject.toml requirements.lock | system
	@command -v $(PYTHON) >/dev/null || { echo "Needs $(PYTHON) (Debian: apt-get install python3 python3-venv)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

# The demo repository: all of Vietnam's units before and after 2025-07-01 and their agencies.
# Re-running it changes nothing (the harvest is idempotent); the stamp only spares the time.

$(KHO_DATA_DIR)/.harvested: $(VENV)/.installed $(wildcard harvesters/*.py ontology/*.ttl ontology/codes/*.ttl mappings/*.csv)
	$(BIN)/kho harvest units
	touch $@

# Demo records: two batches of generated documents (some scanned, so OCR runs), ingested. The
# legacy batch has deliberate mistakes, so `kho ingest` exits 3 and writes its rejection report.
demo: $(KHO_DATA_DIR)/.records

$(KHO_DATA_DIR)/.records: $(KHO_DATA_DIR)/.harvested
	$(BIN)/kho demo-batches $(KHO_DATA_DIR)/demo-batches
	$(BIN)/kho ingest $(KHO_DATA_DIR)/demo-batches/* || [ $$? -eq 3 ]
	$(BIN)/kho users demo
	@$(WITH_REGISTRIES) $(BIN)/kho registries verify
	touch $@

# The browser tests (tests/test_browser.py) drive Debian's Chromium through Playwright.
browser:
	@dpkg -s chromium >/dev/null 2>&1 || { echo "Installing Chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	  --no-install-recommends chromium >/dev/null; }

# Virtuoso Open Source 7, one of the triplestore servers the store tests also run on
# (tests/servers.py starts its own instance on a free port; the Debian service is not used).
servers:
	@dpkg -s virtuoso-opensource >/dev/null 2>&1 || { echo "Installing Virtuoso for the store tests"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	  --no-install-recommends virtuoso-opensource >/dev/null; }

# The whole suite on the embedded store (its store contract, tests/test_store_backends.py, also
# runs on an Oxigraph server and on Virtuoso), and the suites that go through the store again on
# an Oxigraph server and on Virtuoso 7 (tests/conftest.py, SERVER_SUITES). The harvested and demo
# repositories are built once (tests/test_prepared.py) in a temporary directory; each server pass
# gets a copy of its own and runs beside the embedded pass (servers wait on I/O; CI < 20 min).
# Each pass's output is printed as it ends; any failing pass fails `make test`.
SERVER_PASSES := oxigraph-server virtuoso
# Crash trials and backup/restore drive `kho` in subprocesses for minutes: they run as a pass of
# their own, on their own copies, after the Oxigraph server pass (beside the embedded pass).
RELIABILITY := tests/test_crash.py tests/test_backup.py
test: setup browser servers  ## run the whole test suite (embedded store, Oxigraph server, Virtuoso)
	@d=$$(mktemp -d /tmp/kho-test-XXXXXX); trap 'rm -rf "$$d"' EXIT; \
	export KHO_TEST_DATA_DIR=$$d/data KHO_TEST_DEMO_DIR=$$d/demo; \
	echo "== preparing the harvested and demo repositories"; \
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_prepared.py || exit 1; \
	cp -a $$d/data $$d/data-reliability && cp -a $$d/demo $$d/demo-reliability || exit 1; \
	for b in $(SERVER_PASSES); do \
	  cp -a $$d/data $$d/data-$$b && cp -a $$d/demo $$d/demo-$$b && \
	  cp $$d/demo-demo.nq $$d/demo-$$b-demo.nq && cp $$d/demo-demo.size $$d/demo-$$b-demo.size || exit 1; \
	  ( KHO_TEST_STORE=$$b KHO_TEST_DATA_DIR=$$d/data-$$b KHO_TEST_DEMO_DIR=$$d/demo-$$b \
	    $(BIN)/python -m pytest -q -p no:cacheprovider --durations=10 \
	    >$$d/$$b.log 2>&1; echo $$? >$$d/$$b.rc; \
	    if [ $$b = oxigraph-server ]; then \
	      KHO_TEST_DATA_DIR=$$d/data-reliability KHO_TEST_DEMO_DIR=$$d/demo-reliability \
	      $(BIN)/python -m pytest -q -p no:cacheprovider --durations=10 $(RELIABILITY) \
	      >$$d/reliability.log 2>&1; echo $$? >$$d/reliability.rc; fi ) & \
	done; \
	echo "== embedded Oxigraph store (the server passes, then the reliability pass, run beside it)"; \
	$(BIN)/python -m pytest -q -p no:cacheprovider $(RELIABILITY:%=--ignore=%); rc=$$?; wait; \
	for b in $(SERVER_PASSES) reliability; do echo "== $$b"; cat $$d/$$b.log; \
	  [ "$$(cat $$d/$$b.rc)" = 0 ] || rc=1; done; exit $$rc

test-virtuoso: setup servers  ## the server pass of the suites on Virtuoso 7 alone
	KHO_TEST_STORE=virtuoso $(BIN)/python -m pytest -q

bench: setup servers  ## run the benchmarks and write docs/benchmarks.md (BENCH_ARGS=--quick for a smoke run)
	$(BIN)/python -m tests.bench.run $(BENCH_ARGS)

bench-load: setup servers  ## the load test alone (docs/benchmarks.md, Load)
	$(BIN)/python -m tests.bench.run --only bench_load

bench-1m: setup servers  ## the scale benchmark at 1M records (hours; data kept in /tmp/scale/1000000), merged into docs/benchmarks.md
	KHO_SEARCH=tantivy nice -n 10 $(BIN)/python -m tests.bench.bench_scale --size 1000000 --reuse --no-remote-ingest
	$(BIN)/python -m tests.bench.run --only bench_scale

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(DATA) .pytest_cache
