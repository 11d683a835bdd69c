# Set-up is part of each target: a fresh clone needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
NODE_STAMP := node_modules/.installed

.PHONY: run test bench clean chromium cms cms-config cms-screenshots cms-site site \
	rehearsal rehearsal-tools

# The main job on the sample data: validate the announcements, sync subscribers
# from the sample webhook logs and send through the local outbox (no
# credentials). The sample is dated spring 2024, so the clock is set there;
# any BANDITORE_* variable in the environment wins over these defaults.
# The sample's numbers are invented, so a fixed key is enough for its citizen ids;
# a real town sets its own secret (CI refuses to run without one).
run: export BANDITORE_WEBHOOK_LOGS ?= samples/logs
run: export BANDITORE_NOW ?= 2024-04-03T10:00:00+02:00
run: export BANDITORE_PSEUDONYM_KEY ?= banditore-sample-data-only

run: $(STAMP)
	$(BIN)/python -m runner run

test: $(TEST_STAMP) $(NODE_STAMP) chromium rehearsal-tools
	$(BIN)/python -m pytest

# The staff's form (Decap CMS) on a scratch copy of this repository, with its local
# git proxy (decap-server): no GitHub account needed. Open the address it prints.
cms: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m runner cms serve

# Rewrite admin/config.yml from the announcement model and [tool.banditore].
cms-config: $(STAMP)
	$(BIN)/python -m runner cms config --write

# The guide's pictures (docs/redazione.md), taken by the browser test.
cms-screenshots: $(TEST_STAMP) $(NODE_STAMP) chromium
	CMS_SCREENSHOTS=docs/img/redazione $(BIN)/python -m pytest -q tests/cms/test_form.py

# The public site as the pages workflow builds it: the archive, its feeds and CAP
# alerts, and the staff's form in site/admin/ (admin/ plus Decap's files from npm).
site: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m runner publish --out site --form

cms-site: site

# The main job installs lean (no reports stack); the tests install everything.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Node packages, pinned by package-lock.json: Decap CMS (the form) and decap-server
# (its local git proxy). Node itself comes with the machine; Debian's when missing.
$(NODE_STAMP): package.json package-lock.json
	command -v npm >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The tests look at the bubble's HTML and click through the staff's form in Debian's
# headless Chromium: installed with apt when missing (CI and developers run as root);
# checked on every `make test`.
chromium:
	@test -x /usr/bin/chromium || { \
		echo "Installing Debian's chromium for the browser tests..."; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium >/dev/null; }

# A town's week on loopback with the real pieces (docs/town-setup.md, "Rehearse before
# going live"): the workflows run step by step, the receiver under gunicorn, every log
# source. Prints what happened and how long each step took; exits 1 on any loss.
# `python -m rehearsal --short` is the version the test suite runs. Installation runs
# offline, from this venv and npm's cache (node_modules' npm ci fills it).
rehearsal: $(TEST_STAMP) $(NODE_STAMP) rehearsal-tools
	$(BIN)/python -m rehearsal

# What the rehearsal runs besides Python packages, as GitHub's runners and a receiver
# host have them: rsync and openssh-server (the ssh log source), gpg (the state cache).
# Installed with apt when missing, like chromium. (gh and the aws CLI come from PyPI.)
rehearsal-tools:
	@missing=""; \
	for pair in rsync:rsync rrsync:rsync sshd:openssh-server gpg:gnupg; do \
		command -v "$${pair%%:*}" >/dev/null || test -x "/usr/sbin/$${pair%%:*}" || \
			missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian's$$missing for the rehearsal..."; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$$missing >/dev/null; \
	fi

# The benchmark scripts, one after the other; each prints its figures.
bench: $(TEST_STAMP)
	for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) subscribers.duckdb outbox reports node_modules .cms
