# Two commands a newcomer needs: `make run` and `make test` (see README.md).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Debian packages: pango/harfbuzz for WeasyPrint, CJK fonts for records and screens, poppler
# for checking PDFs and chromium for the browser tests (never a downloaded browser).
# Installed only when missing (root, or sudo when available).
SYSTEM_PKGS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk poppler-utils chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install system-deps web run test lint clean

WEB_STAMP := web/node_modules/.installed

$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $(WEB_STAMP)

# The browser UI: built by Vite into web/dist, served by Flask at /.
web/dist/index.html: $(WEB_STAMP) $(shell find web/src web/public web/index.html web/vite.config.ts web/tsconfig.json -type f 2>/dev/null)
	cd web && npm run build

web: web/dist/index.html

system-deps:
	@missing=$$(for p in $(SYSTEM_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:" $$missing; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $(STAMP)

install: system-deps $(STAMP)

# Embedded defaults: SQLite and a file broker under instance/, a generated secret key,
# the demo organisation and every model in processes/ deployed; web + worker + beat together.
run: install web
	$(BIN)/flask --app wsgi init-db
	$(BIN)/flask --app wsgi processes deploy
	$(BIN)/flask --app wsgi seed-demo
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

test: install web
	$(BIN)/ruff check .
	$(BIN)/mypy
	cd web && npm test && npm run lint
	$(BIN)/flask --app wsgi processes test processes
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) instance web/node_modules web/dist
