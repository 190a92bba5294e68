# 慈善帮扶资源对接平台 — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
FLASK  := $(BIN)/flask --app web

.PHONY: run test check install install-dev migrate seed clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

#: axe-core for the browser tests' accessibility checks, pinned in package-lock.json.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev node_modules/.package-lock.json

migrate: install
	$(FLASK) db upgrade

#: Departments of the demo charities: province, 广州, 韶关, 清远, 从化, 乳源, 五华; and 温泉镇's
#: own edition of its local resources (本地资源).
DEMO_LEDGERS := 440000000000 440100000000 440200000000 441800000000 440117000000 440232000000 441424000000 440117103000

seed: migrate
	$(FLASK) seed demo
	$(FLASK) ledger build --if-missing $(addprefix --region ,$(DEMO_LEDGERS))
	$(FLASK) seed activity

## Set up, migrate, seed the demo and serve it on http://127.0.0.1:5000 (SQLite in instance/),
## with the scheduler process beside it; Ctrl-C stops both.
run: seed
	$(BIN)/python -m jobs.launch --host $(HOST) --port $(PORT)

## Lint, format and type checks, security lint, known vulnerabilities of the installed packages.
check: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/bandit --quiet --configfile pyproject.toml --recursive .
	$(BIN)/pip-audit --progress-spinner off --skip-editable

#: Test workers (pytest-xdist): one per core of the 2-core machines the suite is sized for. A
#: module's tests stay on one worker, so its fixtures are built once.
WORKERS ?= 2
PYTEST  := $(BIN)/pytest -n $(WORKERS) --dist loadfile

## The checks, then the whole suite on SQLite, then again on PostgreSQL when TEST_DATABASE_URL is set.
test: check
	env -u TEST_DATABASE_URL $(PYTEST)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== again on $$TEST_DATABASE_URL =="; \
		$(PYTEST); \
	fi


clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .mypy_cache node_modules
