# Two commands do everything on a fresh machine: `make run` and `make test` (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

# Production server (README, "Production"): migrations, then gunicorn and the job worker (scripts/serve.sh),
# against DATABASE_URL; SECRET_KEY from the environment, else instance/secret_key.
.PHONY: install run serve test lint test-fast bench bench-ledger translations extract-messages clean

install: $(VENV)/.installed static/vendor/.installed translations

# Each step first checks its Debian packages (scripts/system-deps.sh: apt-get as root, else one line that
# says what to install).
$(VENV)/.installed: requirements.txt requirements-dev.txt
	scripts/system-deps.sh install
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

static/vendor/.installed: package.json package-lock.json scripts/vendor.sh scripts/ningxia_boundaries.py $(VENV)/.installed
	scripts/system-deps.sh install
	scripts/vendor.sh
	touch $@

# Compiled catalogues (.mo) are build output, not sources.
translations: $(VENV)/.installed
	$(VENV)/bin/pybabel compile -d marketplace/translations

# After changing user-facing strings: refresh the catalogues, then translate what is new in both.
extract-messages: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -o marketplace/translations/messages.pot .
	$(VENV)/bin/pybabel update -i marketplace/translations/messages.pot -d marketplace/translations --no-fuzzy-matching
	$(PY) scripts/fill_en_catalogue.py

# A local secret key, made once and kept out of git, so the app runs outside debug mode.
instance/secret_key:
	mkdir -p instance
	$(PY) -c 'import secrets; print(secrets.token_hex(32))' > $@
	chmod 600 $@

# The ledger's checkpoint key (Ed25519), made once, mode 600, kept out of git.
instance/ledger_signing_key: instance/secret_key
	SECRET_KEY=$$(cat instance/secret_key) $(FLASK) ledger public-key > /dev/null

run: install instance/secret_key instance/ledger_signing_key
	SECRET_KEY=$$(cat instance/secret_key) $(FLASK) db upgrade
	if SECRET_KEY=$$(cat instance/secret_key) $(FLASK) db-is-empty; then SECRET_KEY=$$(cat instance/secret_key) $(FLASK) seed-demo; fi
	# the job worker (rounds, expiry, the daily checkpoint) runs beside the server and stops with it
	SECRET_KEY=$$(cat instance/secret_key) $(FLASK) jobs worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	SECRET_KEY=$$(cat instance/secret_key) $(FLASK) run --host $(HOST) --port $(PORT)

serve: install instance/secret_key instance/ledger_signing_key
	SECRET_KEY=$${SECRET_KEY:-$$(cat instance/secret_key)} $(FLASK) db upgrade
	SECRET_KEY=$${SECRET_KEY:-$$(cat instance/secret_key)} VENV=$(VENV) exec scripts/serve.sh

test:
	scripts/system-deps.sh test
	$(MAKE) install
	scripts/test.sh

# The lint and type gate alone (scripts/test.sh runs it first).
lint: install
	scripts/lint.sh

# The SQLite pass only, without PostgreSQL or the browser (quick feedback while coding).
test-fast: install
	$(PY) -m pytest -q -m "not browser"

bench: install
	$(PY) bench/bench_matching.py

bench-ledger: install
	$(PY) bench/bench_ledger.py

clean:
	rm -rf $(VENV) static/vendor node_modules .pytest_cache
