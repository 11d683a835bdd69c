# Set-up is part of each target: a fresh clone needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench clean

# Validate the announcements, sync subscribers from the sample webhook logs and
# send through the local outbox (no credentials needed).
run: $(STAMP)
	$(BIN)/python -m runner run

test: $(STAMP)
	$(BIN)/python -m pytest

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) subscribers.duckdb outbox reports
