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

.PHONY: demo test fuzz system venv model corpus corpus-real corpus-xl muex-model model-readout model-sync model-kmtalk kmtalk-real-stage model-vqtalker vqtalker-sweep table3 table4 kmtalk-ablations clean help

help:
	@echo "make demo   install everything, then render out/demo_<lang>.mp4 for: $(DEMO_LANGS)"
	@echo "make test   install everything, then run the test suite"
	@echo "make fuzz N=10000 J=2   the fuzzing harness: N odd inputs, family x outcome table"
	@echo "make model  retrain the shipped models (MuEx, sync expert, KMTalk, VQTalker) on a rebuilt benchmark"

# chromium + chromium-driver: the headless browser of the web page and report tests (a Thai font for their screenshots)
SYSTEM_PACKAGES := espeak-ng ffmpeg chromium chromium-driver fonts-tlwg-garuda-ttf
system:
	@if ! dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(SYSTEM_PACKAGES); \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test,web,asr]"
	touch $(STAMP)

# Bytecode for the editable install, written even where PYTHONDONTWRITEBYTECODE is set (as on
# this project's CI machines): without it every command compiled babelface's own modules again
# (up to ~0.1 s of each `say`; BENCHMARKS "Bytecode"). Up-to-date files are skipped.
venv: system $(STAMP)
	@$(BIN)/python -m compileall -q src/babelface > /dev/null

demo: venv
	@mkdir -p out
	@for lang in $(DEMO_LANGS); do \
		$(BIN)/babelface say --lang $$lang -o out/demo_$$lang.mp4 || exit 1; \
	done
	@ls -l out/demo_*.mp4

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The fuzzing harness (issue 17): N odd and broken inputs through the CLI and the API, J workers;
# prints the family × outcome table and writes it, with every failure, to FUZZ_REPORT;
# FUZZ_MINUTES=50 stops starting cases after that long (the report says how many ran)
N ?= 1000
J ?= 2
SEED ?= 0
FUZZ_REPORT ?= fuzz-report.md
FUZZ_MINUTES ?=
fuzz: venv
	cd tests && PYTHONPATH=$(CURDIR)/src:$(CURDIR)/tests OMP_NUM_THREADS=1 $(abspath $(BIN))/python -m fuzz \
		-n $(N) -j $(J) --seed $(SEED) --report $(CURDIR)/$(FUZZ_REPORT) $(if $(FUZZ_MINUTES),--max-minutes $(FUZZ_MINUTES))

# The shipped models: the benchmark corpus (3,000 clips, ~3 min), then MuEx and the sync expert
# trained side by side, one core each (~60 min on this 2-core machine). Both resume after a kill.
MUEX_RUN ?= runs/default
MUEX_CORPUS ?= data/benchmark
SYNC_BENCH ?= $(MUEX_CORPUS)
SYNC_RUN ?= runs/sync_expert_real
CORPUS_CLIPS ?= 200
model: venv corpus
	$(MAKE) -j2 muex-model model-sync
	$(MAKE) model-kmtalk
	$(MAKE) model-vqtalker

corpus: venv
	@test -f $(MUEX_CORPUS)/manifest.jsonl || $(BIN)/babelface bench build --out $(MUEX_CORPUS) \
		--clips-per-language $(CORPUS_CLIPS) --seed 0

# The real corpus (issue 11): ../shared/data/real/corpus/ → data/real_corpus, speaker-disjoint
# train/val/test from scripts/real_corpus_plan.json (docs/data.md); resumable, ~5 min with 2 workers.
REAL_VIDEOS ?= ../shared/data/real/corpus
REAL_CORPUS ?= data/real_corpus
corpus-real: venv
	OMP_NUM_THREADS=1 $(BIN)/babelface prepare $(REAL_VIDEOS) --out $(REAL_CORPUS) \
		--plan scripts/real_corpus_plan.json --workers 2

# The benchmark with 23 more espeak-ng training languages (issue 11, session 41): 80 clips each of
# pseudo-sentences from wordfreq's frequent words (the `xl` extra, build time only) through the
# benchmark's own generator, hard-linked beside the benchmark as one training root (~2 min; resumable).
# None is related to the unseen test languages (docs/muex.md). Stage 3 of muex-model trains on it.
MUEX_XL_CLIPS ?= data/xl_clips
MUEX_XL_CORPUS ?= data/bench_xl
corpus-xl: venv corpus
	@test -f $(MUEX_XL_CORPUS)/manifest.jsonl || { $(BIN)/pip install -q -e ".[xl]" && \
		OMP_NUM_THREADS=1 $(BIN)/python scripts/extra_language_corpus.py --clips $(MUEX_XL_CLIPS) \
		--out $(MUEX_XL_CORPUS) --benchmark $(MUEX_CORPUS); }

# MuEx (issue 5, issue 11): the default config on the benchmark corpus from scratch, then the paper's
# two stages (§4.1, docs/muex.md): real video alone (the real corpus's training speakers, 100 steps),
# then the multilingual benchmark (100 steps, from stage 1's step 100; session 24's recipe, RESULTS.md
# "MuEx: the recipe chosen again on validation (session 24)"), then stage 3 (session 37, muex_shape.yaml):
# the benchmark with the real training speakers mixed in (re-aligned by their own AV offsets since
# session 40) and 23 more languages (corpus-xl, session 41), the mouth-shape term, the real pauses at
# rest and log-mel disturbances, 800 steps from stage 2's export, whose best validation checkpoint (its
# step 800) is the shipped model (RESULTS.md, "MuEx with the mouth-shape term (session 37)", "MuEx: the
# real clips re-aligned (session 40)", "MuEx: 23 more training languages (session 41)").
# Each run resumes.
MUEX_REAL1 ?= $(MUEX_RUN)_real1
MUEX_REAL2 ?= $(MUEX_RUN)_real2
MUEX_SHAPE ?= $(MUEX_RUN)_shape
muex-model: venv corpus corpus-real corpus-xl
	@if [ -f $(MUEX_RUN)/last.safetensors ]; then resume=--resume; fi; \
	OMP_NUM_THREADS=1 $(BIN)/babelface train --config default --set train.out_dir=$(MUEX_RUN) \
		--set data.root=$(MUEX_CORPUS) $$resume --export $(MUEX_RUN)/synthetic.safetensors
	@if [ -f $(MUEX_REAL1)/last.safetensors ]; then resume=--resume; fi; \
	OMP_NUM_THREADS=1 $(BIN)/babelface train --config muex_real_stage1 --set train.out_dir=$(MUEX_REAL1) \
		--set data.root=$(REAL_CORPUS) --set train.max_steps=100 \
		--set train.init_weights=$(MUEX_RUN)/synthetic.safetensors $$resume
	@if [ -f $(MUEX_REAL2)/last.safetensors ]; then resume=--resume; fi; \
	OMP_NUM_THREADS=1 $(BIN)/babelface train --config muex_real_stage2 --set train.out_dir=$(MUEX_REAL2) \
		--set data.root=$(MUEX_CORPUS) --set train.max_steps=100 \
		--set train.init_weights=$(MUEX_REAL1)/step_0000100.safetensors $$resume \
		--export $(MUEX_REAL2)/stage2.safetensors
	@if [ -f $(MUEX_SHAPE)/last.safetensors ]; then resume=--resume; fi; \
	OMP_NUM_THREADS=1 $(BIN)/babelface train --config muex_shape --set train.out_dir=$(MUEX_SHAPE) \
		--set data.root=$(MUEX_XL_CORPUS) --set data.mix_root=$(REAL_CORPUS) \
		--set train.init_weights=$(MUEX_REAL2)/stage2.safetensors $$resume \
		--export src/babelface/assets/muex_default.safetensors

# `--model muex-real` (issue 11): the shipped MuEx read out as the real corpus's training speakers
# move (babelface/models/real_readout.py, a closed-form ridge: the same corpus gives the same file;
# ~1 min). Refit it whenever MuEx is reshipped: the file pins MuEx's sha256 (tests/test_real_readout.py).
model-readout: venv corpus-real
	OMP_NUM_THREADS=1 $(BIN)/python scripts/train_real_readout.py --data $(REAL_CORPUS) --select

# The sync expert (issue 6, issue 11 part 5) on the same trainer: sync_expert_real.yaml, the benchmark
# and the real corpus's training speakers (real clips re-aligned by scripts/real_av_offsets_closure.json, hard
# negatives: shifted, frozen mouth, reversed), 1,200 steps; the final step is the shipped file
# (docs/sync.md says why not the best validation score). Resumable
# (continues from $(SYNC_RUN)/last.safetensors); ~25 min on one idle core.
model-sync: venv corpus corpus-real
	@if [ -f $(SYNC_RUN)/last.safetensors ]; then resume=--resume; fi; \
	OMP_NUM_THREADS=1 $(BIN)/babelface train --config sync_expert_real \
		--set "data.roots=[$(SYNC_BENCH),$(REAL_CORPUS)]" --set train.out_dir=$(SYNC_RUN) $$resume \
		--export src/babelface/assets/sync_expert.safetensors

# KMTalk (issue 13): the kit's trainer on the benchmark's seen languages (kmtalk_default.yaml: 6-layer
# motion-flow stacks, 1,500 steps, ~30 CPU-minutes on one idle core), its best validation checkpoint
# exported as the shipped model. Resumes after a kill. CMC's training reads a MuEx as a teacher: the
# one the shipped KMTalk was trained with, pinned by path and sha256 in kmtalk_default.yaml
# (teachers/README.md), so a new shipped MuEx does not change this target's output.
# `make kmtalk-ablations`: Table 3's variants.
KMTALK_RUN ?= runs/kmtalk
model-kmtalk: venv corpus
	@if [ -f $(KMTALK_RUN)/last.safetensors ]; then resume=--resume; fi; \
	OMP_NUM_THREADS=1 $(BIN)/babelface train --config kmtalk_default --set train.out_dir=$(KMTALK_RUN) \
		--set data.root=$(MUEX_CORPUS) $$resume --export src/babelface/assets/kmtalk_default.safetensors

# KMTalk's real-data stage (session 24, kmtalk_real_stage.yaml; NOT shipped: RESULTS.md "KMTalk: a
# real-data stage (session 24)"): from the shipped KMTalk, CMC alone fine-tuned with the real corpus's
# training speakers mixed into the benchmark and MuEx's output as their key motions; checkpoints every
# 50 steps in $(KMTALK_REAL) (step 100 is the one measured; load_generator("kmtalk", path) reads a
# checkpoint, benchmarks/kmtalk_real_stage.py scores it). ~4 CPU-minutes per 50 steps. Resumable.
KMTALK_REAL ?= $(KMTALK_RUN)_real
kmtalk-real-stage: venv corpus corpus-real
	@if [ -f $(KMTALK_REAL)/last.safetensors ]; then resume=--resume; fi; \
	OMP_NUM_THREADS=1 $(BIN)/babelface train --config kmtalk_real_stage --set train.out_dir=$(KMTALK_REAL) \
		--set data.root=$(MUEX_CORPUS) --set data.mix_root=$(REAL_CORPUS) $$resume

# VQTalker (issue 12): the 11 kbps GRFSQ motion tokenizer, then the coarse-to-fine generator on its
# frozen codes, both through `babelface train` (resumable, deterministic), the generator's best
# validation checkpoint exported as the shipped file (3.8 MB; docs/vqtalker.md). ~12 CPU-minutes on
# one core (40 min wall on the loaded 2-core machine); `make vqtalker-sweep` adds the 2/5/22 kbps tokenizers.
VQ_RUNS ?= runs
vq_resume = $(if $(wildcard $(VQ_RUNS)/$(1)/last.safetensors),--resume)
model-vqtalker: venv corpus corpus-real
	OMP_NUM_THREADS=1 $(BIN)/babelface train --config vqtalker_tokenizer_11k \
		--set train.out_dir=$(VQ_RUNS)/vqtalker_tokenizer_11k $(call vq_resume,vqtalker_tokenizer_11k) \
		--export $(VQ_RUNS)/vqtalker_tokenizer_11k/tokenizer.safetensors
	OMP_NUM_THREADS=1 $(BIN)/babelface train --config vqtalker --set train.out_dir=$(VQ_RUNS)/vqtalker \
		--set model.tokenizer_weights=$(VQ_RUNS)/vqtalker_tokenizer_11k/tokenizer.safetensors \
		$(call vq_resume,vqtalker) --export src/babelface/assets/vqtalker_default.safetensors

vqtalker-sweep: venv corpus corpus-real
	for b in 2k 5k 22k; do OMP_NUM_THREADS=1 $(BIN)/babelface train --config vqtalker_tokenizer_$$b \
		--set train.out_dir=$(VQ_RUNS)/vqtalker_tokenizer_$$b \
		$$(test -f $(VQ_RUNS)/vqtalker_tokenizer_$$b/last.safetensors && echo --resume) \
		--export $(VQ_RUNS)/vqtalker_tokenizer_$$b/tokenizer.safetensors || exit 1; done

# MuEx Tables 3 and 4 (RESULTS.md): every ablation and S/M/K configuration trained for the same
# short budget (ABLATION_STEPS, warm-up and temperature annealing scaled to it), then scored.
ABLATION_STEPS ?= 1200
TABLE3 := table3_baseline table3_no_pv_align table3_no_guider table3_full
TABLE4 := $(patsubst src/babelface/configs/%.yaml,%,$(wildcard src/babelface/configs/table4_*.yaml))
runs/ablation/%/train_summary.json: | venv corpus
	@if [ -f runs/ablation/$*/last.safetensors ]; then resume=--resume; fi; \
	OMP_NUM_THREADS=1 $(BIN)/babelface train --config $* --set data.root=$(MUEX_CORPUS) \
		--set train.out_dir=runs/ablation/$* --set train.max_steps=$(ABLATION_STEPS) \
		--set train.ckpt_every=$$(( $(ABLATION_STEPS) / 4 )) \
		--set optim.warmup_steps=$$(( $(ABLATION_STEPS) / 8 )) \
		--set model.router.anneal_steps=$$(( $(ABLATION_STEPS) * 5 / 8 )) $$resume
table3: $(TABLE3:%=runs/ablation/%/train_summary.json)
	$(BIN)/python benchmarks/muex_results.py table3 --data $(MUEX_CORPUS) --runs $(TABLE3:%=runs/ablation/%)
table4: $(TABLE4:%=runs/ablation/%/train_summary.json)
	$(BIN)/python benchmarks/muex_results.py table4 --data $(MUEX_CORPUS) --runs $(TABLE4:%=runs/ablation/%)

# KMTalk Table 3 (localization, key-motion-focused LKMA, audio guidance in CMC): each variant trained on
# its own with the shipped recipe (kmtalk_default: 1,500 steps, warm-up 100, seed 0, its pinned MuEx
# teacher) plus the variant's settings ("full" trains on phoneme keys only; the shipped model mixes
# them), its best validation checkpoint exported, then scored by benchmarks/kmtalk_results.py on every
# 4th test clip beside the shipped model (RESULTS.md "KMTalk Table 3 at the full budget (issue 13,
# session 25)"). ~35 CPU-minutes a variant, ~2.5 CPU-hours for the four; resumable.
# The short table (RESULTS.md "KMTalk at 1,500 steps (issue 13, session 23)": 250 steps, warm-up a
# fifth, Table 4's losses and a second seed too, ~5 CPU-minutes a variant):
#   make kmtalk-ablations KMTALK_ABLATION_STEPS=250 KMTALK_VARIANTS="$(KMTALK_VARIANTS_SHORT)"
KMTALK_ABLATION_STEPS ?=
KMTALK_VARIANTS ?= full no-localization no-key-focus no-audio-guidance
KMTALK_VARIANTS_SHORT := full no-localization full-seed1 no-localization-seed1 no-audio-guidance no-key-focus \
	no-consistency-losses none
KMTALK_ABLATION_DIR ?= runs/kmtalk_ablation_$(or $(KMTALK_ABLATION_STEPS),1500)
KMTALK_ABLATION_EVAL ?= runs/kmtalk_eval$(if $(KMTALK_ABLATION_STEPS),,_1500)
KMT_full := model.train_keys=phoneme
KMT_full-seed1 := model.train_keys=phoneme train.seed=1
KMT_no-localization-seed1 := model.train_keys=uniform train.seed=1
KMT_no-localization := model.train_keys=uniform
KMT_no-key-focus := model.train_keys=phoneme model.key_focused=false
KMT_no-audio-guidance := model.train_keys=phoneme model.audio_guidance=false
KMT_no-consistency-losses := model.train_keys=phoneme model.lambda_latent=0 model.lambda_ctc=0
KMT_none := model.train_keys=uniform model.key_focused=false model.audio_guidance=false
KMT_budget = $(if $(KMTALK_ABLATION_STEPS),--set train.max_steps=$(KMTALK_ABLATION_STEPS) \
	--set train.ckpt_every=$(KMTALK_ABLATION_STEPS) --set optim.warmup_steps=$$(( $(KMTALK_ABLATION_STEPS) / 5 )))
$(KMTALK_ABLATION_DIR)/%.safetensors: | venv corpus
	@if [ -f $(KMTALK_ABLATION_DIR)/$*/last.safetensors ]; then resume=--resume; fi; \
	OMP_NUM_THREADS=1 $(BIN)/babelface train --config kmtalk_default \
		--set train.out_dir=$(KMTALK_ABLATION_DIR)/$* --set data.root=$(MUEX_CORPUS) $(KMT_budget) \
		$(foreach kv,$(KMT_$*),--set $(kv)) $$resume --export $@
kmtalk-ablations: $(KMTALK_VARIANTS:%=$(KMTALK_ABLATION_DIR)/%.safetensors)
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/kmtalk_results.py ablation --data $(MUEX_CORPUS) --every 4 \
		--cache $(KMTALK_ABLATION_EVAL) $(if $(KMTALK_ABLATION_STEPS),,--variant shipped-mixed-keys=src/babelface/assets/kmtalk_default.safetensors) \
		$(foreach v,$(KMTALK_VARIANTS),--variant $(v)=$(KMTALK_ABLATION_DIR)/$(v).safetensors)

clean:
	rm -rf $(VENV) out .pytest_cache
