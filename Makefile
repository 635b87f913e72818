# Two commands a newcomer needs: `make run` and `make test` (see README.md).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# Embedded defaults: SQLite and a file broker under instance/, a generated secret key,
# the demo organisation and every model in processes/ deployed; web + worker + beat together.
run: install
	$(BIN)/flask --app wsgi init-db
	$(BIN)/flask --app wsgi seed-demo
	$(BIN)/flask --app wsgi processes deploy
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/flask --app wsgi processes test processes
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) instance
