# peerline: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test lint bench clean

$(BIN)/flask: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(BIN)/flask

install: $(BIN)/flask  ## a virtual environment with requirements.txt

run: install  ## the whole line on its embedded default, simulator at /simulator
	$(BIN)/flask --app wsgi dev

test: install  ## the whole suite (DATABASE_URL / REDIS_URL if set, else embedded)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check peerline workers tests bench wsgi.py

bench: install
	$(BIN)/python bench/crisis_bench.py

clean:
	rm -rf $(VENV) instance
