# Two commands on a fresh machine: `make run` (sample quarter) and `make test` (whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint verify bench sample ledger-demo clean vega-bundle site-screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/incentcalc run --config configs/program.yaml --period 2026Q3 --out out/2026Q3 --force

lint: $(STAMP)
	$(BIN)/ruff check incentcalc tests bench
	$(BIN)/ruff format --check incentcalc tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n 2

# The differential test at ten times its usual size: 2,000 generated quarters against the
# reference implementation in tests/reference (docs/reference.md).
verify: $(STAMP)
	INCENTCALC_DIFF_EXAMPLES=2000 $(BIN)/pytest tests/test_differential.py -n 2

sample: $(STAMP)
	$(BIN)/incentcalc sample-data --out sample_data --partners 200 --seed 7 --period 2026Q3 --config-out configs/program.yaml

# Three quarters run and closed in a row on a sample with a ledger (README "The ledger"),
# then the payment files of the first one (README "Paying a closed quarter").
DEMO := out/ledger-demo
DEMO_PROGRAM := $(DEMO)/data/program-ledger.yaml
ledger-demo: $(STAMP)
	rm -rf $(DEMO)
	$(BIN)/incentcalc sample-data --out $(DEMO)/data --partners 200 --seed 7 --period 2026Q3 --quarters 4 --quiet
	for q in 2026Q1 2026Q2 2026Q3; do \
	  $(BIN)/incentcalc run --config $(DEMO_PROGRAM) --period $$q --out $(DEMO)/runs/$$q --no-statements --quiet && \
	  $(BIN)/incentcalc close --config $(DEMO_PROGRAM) --run $(DEMO)/runs/$$q || exit 1; \
	done
	$(BIN)/incentcalc ledger --config $(DEMO_PROGRAM)
	$(BIN)/incentcalc ledger --config $(DEMO_PROGRAM) --verify
	$(BIN)/incentcalc payments --config $(DEMO_PROGRAM) --period 2026Q1 --out $(DEMO)/payments/2026Q1


# The peers (pandas, DuckDB) get their own venv: with pandas importable, pandera imports it
# too, and incentcalc would pay for it at every start.
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet -e '.[bench]'
	touch $(BENCH_STAMP)

# BENCH_ARGS picks what runs, e.g. `make bench BENCH_ARGS="--datasets 10x"` (only the 50M-deal
# quarter) or `--datasets main,history` (skip it); bench/results.json is committed, and each
# bench prints the steps more than 10% slower than in it (docs/performance.md).
BENCH_ARGS ?=
bench: $(STAMP) $(BENCH_STAMP)
	$(BIN)/python -m bench.run --peers-python $(BENCH_VENV)/bin/python $(BENCH_ARGS)

# The Vega, Vega-Lite and vega-embed bundle the site ships (docs/site.md), from vl-convert.
vega-bundle: $(STAMP)
	$(BIN)/python -c "import vl_convert; from incentcalc.site.charts import VEGA_LITE_VERSION as v; open('incentcalc/site/static/vega.js', 'w', encoding='utf-8', newline='\\n').write(vl_convert.javascript_bundle(vl_version=v))"

# The screenshots of docs/img (docs/site.md), from the sample quarter, in headless Chromium.
site-screenshots: $(STAMP)
	$(BIN)/python -m bench.site_screenshots --out docs/img

clean:
	rm -rf $(VENV) $(BENCH_VENV) out bench/data
