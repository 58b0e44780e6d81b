# The lab's two commands: `make demo` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TOOLS  := $(VENV)/tools
TOOLS_STAMP := $(TOOLS)/.installed

.PHONY: demo test lint format bench samples check-pins clean up down labs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

venv: $(STAMP)

## Tools the tests run in their own environment (checkov, splunk-appinspect: see the file).
$(TOOLS_STAMP): tools/requirements-tools.txt $(STAMP)
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --upgrade pip
	$(TOOLS)/bin/pip install --quiet -r tools/requirements-tools.txt
	touch $(TOOLS_STAMP)

## Start the local world and run the end-to-end flow.
demo: $(STAMP)
	$(BIN)/lab demo

## Run every test: lint, pins, unit and stack tests, and the notebooks under nbval.
test: $(STAMP) $(TOOLS_STAMP) lint check-pins
	$(BIN)/pytest --nbval-lax -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/nbstripout notebooks/*.ipynb notebooks/jobs/*.ipynb labs/*.ipynb labs/solutions/*.ipynb

check-pins: $(STAMP)
	$(BIN)/python tools/check_pins.py

## Write the student exercises labs/NN_*.ipynb from their solutions in labs/solutions/.
labs: $(STAMP)
	$(BIN)/python tools/make_labs.py

bench: $(STAMP)
	$(BIN)/lab bench all

## Re-record data/sample_cloudtrail/ and data/sample_network/ from the scenarios (deterministic).
samples: $(STAMP)
	$(BIN)/lab record-samples

up: $(STAMP)
	$(BIN)/lab up --detach

down: $(STAMP)
	$(BIN)/lab down

clean:
	-$(BIN)/lab down
	rm -rf $(VENV) .lab
