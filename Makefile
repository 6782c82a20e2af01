# peerline: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test lint bench clean requirements screenshots

# requirements.txt (what the line runs on) and requirements-dev.txt (test tools) are
# generated from the short lists in requirements.in and requirements-dev.in.
$(BIN)/flask: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $(BIN)/flask

install: $(BIN)/flask  ## a virtual environment with requirements.txt (+ test tools)

requirements:  ## regenerate the pinned files from requirements*.in (needs the index)
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file requirements.txt requirements.in
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file requirements-dev.txt requirements-dev.in

# `make run PORT=5001` picks the port (default 5000, or FLASK_RUN_PORT when set). `exec`:
# the SIGTERM make passes to its recipe's shell reaches flask (a plain shell died without
# passing it on, leaving the web server, worker and embedded Redis running).
run: install  ## the whole line on its embedded default, simulator at /simulator
	exec env PEERLINE_GATEWAY=$${PEERLINE_GATEWAY:-local} $(BIN)/flask --app wsgi dev $(if $(PORT),--port $(PORT))

test: install  ## the whole suite (DATABASE_URL / REDIS_URL if set, else embedded)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check peerline workers tests bench wsgi.py

# Every benchmark, each printing its ratio or figure last (bench/README.md has the
# results and conditions). The webhook, load, offer and surge benches need DATABASE_URL /
# REDIS_URL of a scratch database and Redis db (they drop and rebuild the schema).
bench: install
	$(BIN)/python bench/crisis_bench.py --messages 8000
	$(BIN)/python bench/webhook_bench.py 300 --mode first
	$(BIN)/python bench/webhook_bench.py 300 --mode live
	$(BIN)/python bench/load_bench.py --requests 800 --rounds 2
	$(BIN)/python bench/offer_bench.py --runs 500 --crisis-runs 100
	$(BIN)/python bench/surge_bench.py
	$(BIN)/python bench/day_sim.py

# The README's dashboard screenshots, refreshed: a demo evening on a throwaway database
# and embedded Redis, photographed by headless Chromium (/usr/bin/chromium).
screenshots: install  ## docs/screenshots/*.png of the live board, roster, ...
	$(BIN)/python -m bench.screenshots

clean:
	rm -rf $(VENV) instance
