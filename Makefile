# Two entry points for a fresh machine: `make run` and `make test`.
# Settings (HOST, PORT, STATE_URL, TWILIO_AUTH_TOKEN, ...) come from the environment, then .env.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test check content lint bench clean serve worker bench-serve bench-instructions purge fuzz soak

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Serving needs the runtime dependencies and gunicorn; the test tools only for testing.
$(VENV)/.serve: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[serve]'
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,serve]'
	touch $@

run: $(VENV)/.serve
	mkdir -p var
	$(BIN)/python -m skill run

test: $(VENV)/.test
	$(BIN)/python -m pytest

check: $(VENV)/.serve
	$(BIN)/python -m skill check

# After editing content/: rebuild every file made from it (the Alexa package, the flowchart,
# the golden transcripts and the channel snapshot); `python -m skill check` lists stale ones.
content: $(VENV)/.test
	$(BIN)/python -m skill alexa-model --write
	$(BIN)/python -m skill graph --into docs/flowchart.md
	$(BIN)/python -m pytest -q tests/triage/test_transcripts.py tests/channels/test_snapshot.py --refresh-golden
	$(BIN)/python -m skill check

lint: $(VENV)/.test
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(VENV)/.test
	$(BIN)/python bench/engine_bench.py

clean:
	rm -rf $(VENV) var/*.db*

# Production serving (gunicorn.conf.py reads HOST, PORT, WEB_CONCURRENCY, WEB_THREADS).
serve: $(VENV)/.serve
	mkdir -p var
	$(BIN)/gunicorn -c gunicorn.conf.py "app:create_app()"

# Beside `make serve`: sends the check-in texts when they fall due (docs/follow-up.md); run
# as many as you like, each check-in is sent once. `make run` sends them itself.
worker: $(VENV)/.serve
	mkdir -p var
	$(BIN)/python -m skill worker

bench-serve: $(VENV)/.test
	$(BIN)/python bench/serve_bench.py

# Instructions a webhook costs (valgrind): repeatable where timings are not.
bench-instructions: $(VENV)/.test
	$(BIN)/python bench/instructions.py

purge: $(VENV)/.serve
	$(BIN)/python -m skill purge

# Robustness: the long fuzz, attack and concurrency runs; a 5-minute soak under gunicorn.
fuzz: $(VENV)/.test
	ROBUST_LONG=1 $(BIN)/python -m pytest tests/robustness

soak: $(VENV)/.test
	$(BIN)/python bench/soak.py --seconds 300
