# Puskesos — `make run` for a demo on this machine, `make test` for the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed-stamp
# axe-core for the browser tests' accessibility sweep, from package-lock.json (npm ci: exactly the locked versions).
NODE_STAMP := node_modules/.installed-stamp

.PHONY: install run test lint translations extract-messages clean-db

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,production]'
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund && touch $(NODE_STAMP); \
	else \
		echo "npm not found: axe-core not installed, the accessibility sweep will be skipped"; \
	fi

install: $(STAMP) $(NODE_STAMP) translations

translations: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d puskesos/translations -D messages --statistics 2>&1 | tail -n 2 || true

# Re-extract the UI strings (babel.cfg) into messages.pot and merge them into every catalogue.
# New strings arrive untranslated, never as fuzzy guesses (`translations` compiles fuzzy ones):
# translate them in puskesos/translations/<lang>/LC_MESSAGES/messages.po (tests/web/test_i18n.py checks).
extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o puskesos/translations/messages.pot .
	$(BIN)/pybabel update -i puskesos/translations/messages.pot -d puskesos/translations -D messages \
		--no-fuzzy-matching

# Development server on an embedded SQLite database under instance/, demo data on first start.
run: install
	PUSKESOS_ENV=development $(FLASK) db upgrade
	PUSKESOS_ENV=development $(FLASK) regions load
	PUSKESOS_ENV=development $(FLASK) holidays import
	PUSKESOS_ENV=development $(FLASK) demo load
	PUSKESOS_ENV=development $(FLASK) sla sweep
	PUSKESOS_ENV=development $(FLASK) run --host 127.0.0.1 --port 5000

lint: $(STAMP)
	$(BIN)/ruff check .

# Two workers (pytest-xdist), a test file each at a time: the suite waits on PostgreSQL and chromium as much as
# it computes. Each worker has its own PostgreSQL database and Redis database (tests/conftest.py, tests/helpers.py).
test: install lint
	$(BIN)/python -m pytest -n 2 --dist loadfile

# Throw the development database away (the next `make run` rebuilds it).
clean-db:
	rm -f instance/puskesos.sqlite instance/puskesos.sqlite-wal instance/puskesos.sqlite-shm
