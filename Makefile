# Two entry points for a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test check lint bench clean serve bench-serve purge fuzz soak

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,serve]'
	touch $@

run: $(VENV)/.installed
	mkdir -p var
	$(BIN)/flask --app app run --host $(HOST) --port $(PORT)

test: $(VENV)/.installed
	$(BIN)/python -m pytest

check: $(VENV)/.installed
	$(BIN)/python -m skill check

lint: $(VENV)/.installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(VENV)/.installed
	$(BIN)/python bench/engine_bench.py

clean:
	rm -rf $(VENV) var/*.db*

# Production serving (gunicorn.conf.py reads HOST, PORT, WEB_CONCURRENCY, WEB_THREADS).
serve: $(VENV)/.installed
	mkdir -p var
	HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py "app:create_app()"

bench-serve: $(VENV)/.installed
	$(BIN)/python bench/serve_bench.py

purge: $(VENV)/.installed
	$(BIN)/python -m skill purge

# Robustness: the long fuzz, attack and concurrency runs; a 5-minute soak under gunicorn.
fuzz: $(VENV)/.installed
	ROBUST_LONG=1 $(BIN)/python -m pytest tests/robustness

soak: $(VENV)/.installed
	$(BIN)/python bench/soak.py --seconds 300
