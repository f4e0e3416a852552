# One virtual environment in .venv, created on first use by any target.
# torch/torchvision are pinned by constraints.txt so pip never resolves a bare
# `torch` to a multi-GB build of its own choosing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE ?= 1

# The robustness cases the defaults were chosen on, and the fortunes cases added later (apt-get install fortunes).
ROBUST_TUNED := ag_news-business-1:4-balanced ag_news-business-1:9-balanced ag_news-sports-1:9-biased-balanced \
	trec-longtail-balanced ag_news-business-1:4-random ag_news-business-1:9-random ag_news-sports-1:9-biased-random \
	trec-longtail-random digits-biased-teacher digits-random-teacher
FORTUNES := fortunes-computers-1:7-balanced fortunes-computers-1:7-random fortunes-topics-balanced fortunes-topics-random

.PHONY: install demo test lint docs benchmark clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[all]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m zeromatch_sk.benchmark --quick

test: $(STAMP)
	$(PY) -m pytest

# Part of CI. ruff is pinned in the `test` extra; `ruff format` (no --check) fixes what this reports.
LINTED := zeromatch_sk tests examples benchmarks docs/conf.py
lint: $(STAMP)
	$(PY) -m ruff format --check $(LINTED)
	$(PY) -m ruff check $(LINTED)

docs: $(STAMP)
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

benchmark: $(STAMP)
	$(PY) -m zeromatch_sk.benchmark --n-jobs -1
	$(PY) -m zeromatch_sk.benchmark --robustness --n-jobs -1 --datasets $(ROBUST_TUNED)
	$(PY) -m zeromatch_sk.benchmark --robustness --n-jobs -1 --seeds 10 --out benchmarks/results/robustness_10_draws \
		--datasets $(ROBUST_TUNED) --methods "teacher alone" "logistic regression" "supervised student" "KD only" "ZeroMatch"
	$(PY) -m zeromatch_sk.benchmark --robustness --n-jobs -1 --seeds 10 --out benchmarks/results/robustness_fortunes \
		--datasets $(FORTUNES) --methods "teacher alone" "logistic regression" "supervised student" "KD only" \
		"ZeroMatch" "ZeroMatch (reference)"
	$(PY) -m zeromatch_sk.benchmark --robustness --n-jobs -1 --seeds 10 --out benchmarks/results/robustness_10_draws_gate \
		--datasets ag_news-business-1:9-random trec-longtail-random digits-random-teacher ag_news-business-1:4-random \
		ag_news-sports-1:9-biased-random --methods "ZeroMatch, no gate" "ZeroMatch, majority gate"
	$(PY) -m zeromatch_sk.benchmark --datasets trec --budgets 60 --seeds 10 --n-jobs -1 \
		--methods "ZeroMatch" "ZeroMatch (reference)" --out benchmarks/results/balanced_10_draws/trec
	$(PY) -m zeromatch_sk.benchmark --datasets ag_news --budgets 40 --seeds 10 --n-jobs -1 \
		--methods "ZeroMatch" "ZeroMatch (reference)" --out benchmarks/results/balanced_10_draws/ag_news
	$(PY) -m zeromatch_sk.benchmark --datasets ag_news --budgets 40 --seeds 10 --n-jobs -1 \
		--methods "ZeroMatch, teacher+labels prior" --out benchmarks/results/prior_estimate_10_draws/ag_news
	$(PY) -m zeromatch_sk.benchmark --datasets trec --budgets 60 --seeds 10 --n-jobs -1 \
		--methods "ZeroMatch, teacher+labels prior" --out benchmarks/results/prior_estimate_10_draws/trec
	$(PY) -m zeromatch_sk.benchmark --robustness --seeds 10 --n-jobs -1 --datasets ag_news-business-1:4-balanced \
		ag_news-business-1:9-balanced ag_news-sports-1:9-biased-balanced trec-longtail-balanced \
		fortunes-computers-1:7-balanced fortunes-topics-balanced --methods "ZeroMatch, teacher+labels prior" \
		--out benchmarks/results/prior_estimate_10_draws/robust

clean:
	rm -rf $(VENV) docs/_build docs/auto_examples docs/gen_modules
