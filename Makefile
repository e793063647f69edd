# babelface: set-up, demo, tests, models. `make demo` and `make test` work on a fresh Debian/Ubuntu.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_LANGS ?= en zh es ar th my hi ja
# two workers on this 2-core machine; PYTEST_ARGS="-n 0 -x" for a serial run
PYTEST_ARGS ?= -n 2

.PHONY: demo test system venv model muex-model model-sync clean help

help:
	@echo "make demo   install everything, then render out/demo_<lang>.mp4 for: $(DEMO_LANGS)"
	@echo "make test   install everything, then run the test suite"
	@echo "make model  retrain the shipped models (MuEx, sync expert) on a rebuilt benchmark"

system:
	@if ! dpkg -s espeak-ng ffmpeg >/dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq espeak-ng ffmpeg; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

venv: system $(STAMP)

demo: venv
	@mkdir -p out
	@for lang in $(DEMO_LANGS); do \
		$(BIN)/babelface say --lang $$lang -o out/demo_$$lang.mp4 || exit 1; \
	done
	@ls -l out/demo_*.mp4

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# MuEx (issue 5): train the default config on the benchmark corpus, export its best checkpoint
MUEX_RUN ?= runs/default
MUEX_CORPUS ?= data/benchmark
muex-model: venv
	rm -rf $(MUEX_RUN)
	OMP_NUM_THREADS=2 $(BIN)/babelface train --config default --set train.out_dir=$(MUEX_RUN) --set data.root=$(MUEX_CORPUS)
	$(BIN)/python -m babelface.train.export $(MUEX_RUN) src/babelface/assets/muex_default.safetensors

# The sync expert (issue 6): train on the synthetic benchmark (built if missing), export to the package.
# Resumable: re-running continues from $(SYNC_RUN)/state.pt. ~1 h on one core of this machine.
SYNC_BENCH ?= $(MUEX_CORPUS)
SYNC_RUN ?= runs/sync
SYNC_CLIPS ?= 200
model-sync: venv
	@test -f $(SYNC_BENCH)/manifest.jsonl || $(BIN)/babelface bench build --out $(SYNC_BENCH) \
		--clips-per-language $(SYNC_CLIPS) --seed 0
	OMP_NUM_THREADS=1 nice -n 10 $(BIN)/python -m babelface.train.sync --data $(SYNC_BENCH) \
		--out $(SYNC_RUN) --config src/babelface/configs/sync_expert.yaml --resume \
		--export src/babelface/assets/sync_expert.safetensors

clean:
	rm -rf $(VENV) out .pytest_cache
