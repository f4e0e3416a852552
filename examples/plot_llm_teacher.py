"""
Pseudo-labels from an LLM inference service
===========================================

The strongest zero-shot teachers (GPT-4o, GPT-4.1, Llama-3.3-70B, ...) are
reached only through inference services. :class:`~zeromatch_sk.providers.LLMProvider`
asks any OpenAI-compatible chat-completions endpoint (the hosted APIs, vLLM,
llama.cpp's server, Ollama) to classify each text, turns the answers into
pseudo-labels, caches every answer, and hands the probability matrix to
:class:`~zeromatch_sk.ZeroMatchClassifier`.

So that this example runs offline in a few seconds, the "LLM" is
:class:`~zeromatch_sk.testing.FakeLLMServer`: a small HTTP
server on ``127.0.0.1`` that speaks the same protocol and answers from a fixed
table. The last cells show how to point the same code at a real endpoint.
"""

# %%
# 200 short news texts
# --------------------
# Four topics, ten phrases per topic, five sentence templates.
import os
import tempfile

import numpy as np

PHRASES = {
    "Sports": [
        "a late goal decided the derby",
        "the tournament final went to penalties",
        "the coach praised his defence",
        "the striker signed a new contract",
        "the marathon record fell",
        "the tennis champion retired",
        "the cricket team toured abroad",
        "the club mascot danced",
        "a record sponsorship deal for the league",
        "the relay team won gold",
    ],
    "Business": [
        "quarterly profits beat forecasts",
        "the central bank raised interest rates",
        "shares slumped after the merger",
        "the retailer cut prices",
        "oil prices rose again",
        "the startup raised venture funding",
        "unemployment fell last month",
        "the airline reported losses",
        "the stock market hit a record",
        "a takeover bid was rejected",
    ],
    "World": [
        "the election was postponed",
        "peace talks resumed in Geneva",
        "the prime minister resigned",
        "floods displaced thousands",
        "the summit ended without a deal",
        "protesters marched in the capital",
        "the ceasefire held overnight",
        "a new ambassador was appointed",
        "refugees crossed the border",
        "the parliament passed a budget",
    ],
    "Technology": [
        "the new smartphone has a faster chip",
        "a software update fixed the bug",
        "researchers built a quantum computer",
        "the browser added privacy features",
        "a data breach exposed passwords",
        "the satellite launch succeeded",
        "engineers unveiled a robot",
        "the chipmaker announced new processors",
        "an open-source AI model was released",
        "the network outage lasted hours",
    ],
}
TEMPLATES = ["{}.", "News: {}, officials said.", "Today {}.", "Reports say {}.", "Update: {}; more soon."]

texts, topics = [], []
for topic, phrases in PHRASES.items():
    for phrase in phrases:
        for template in TEMPLATES:
            texts.append(template.format(phrase))
            topics.append(topic)
topics = np.array(topics, dtype=object)
classes = np.array(sorted(PHRASES), dtype=object)
print(f"{len(texts)} texts, classes {classes.tolist()}; e.g. {texts[0]!r}")

# %%
# A stand-in for the LLM
# ----------------------
# The fake server looks up each request's text in a table. Like a real model
# it answers in varied formats, is sometimes unsure (a probability spread over
# several replies, returned as token log-probabilities), sometimes wrong, and
# sometimes names no class at all.
from zeromatch_sk.testing import FakeLLMServer

table = {}
for topic, phrases in PHRASES.items():
    for i, phrase in enumerate(phrases):
        table[phrase] = [topic, f"{topic.lower()}.", f"The topic is {topic}."][i % 3]
table.update(
    {
        "the club mascot danced": "I am not sure.",  # names no class
        "a record sponsorship deal for the league": {"Business": 0.6, "Sports": 0.4},  # wrong, unsure
        "oil prices rose again": {"World": 0.55, "Business": 0.45},  # wrong, unsure
        "the parliament passed a budget": {"World": 0.7, "Business": 0.3},
        "the satellite launch succeeded": "Technology (or world news).",  # names two classes
        "the relay team won gold": {"Sports": 0.8, "World": 0.2},
    }
)
server = FakeLLMServer(table, latency=0.005).start()
print("fake chat-completions endpoint:", server.base_url)

# %%
# Labelling the texts
# -------------------
# One request per distinct text, up to ``max_concurrency`` in flight, each
# answer written to the SQLite ``cache`` as it arrives. ``{labels}`` and
# ``{text}`` in the prompt are filled in for every request. A local server
# needs no API key; for a hosted API the key is read from ``api_key_env`` at
# call time and is never stored.
from zeromatch_sk.providers import LLMProvider

cache = os.path.join(tempfile.mkdtemp(prefix="zeromatch_llm_"), "labels.sqlite")
teacher = LLMProvider(
    model="llama-3.3-70b-instruct",
    base_url=server.base_url,
    prompt=(
        "Select the topic that the given article is about. The topics are: {labels}.\n\n"
        "Article: {text}\n\nAnswer:"
    ),
    cache=cache,
    verbose=0,
)
P = teacher.predict_proba(texts, classes)

print("usage:", {k: round(v, 1) if isinstance(v, float) else v for k, v in teacher.usage_.items()})
print(f"answers naming no class: {teacher.n_unparseable_} rows (uniform rows, since default_label=None)")
print(f"answers naming several classes: {teacher.n_multiple_} rows (the class named first wins)")
for i in [0, 37, 40, 105, 190]:
    print(f"  {texts[i]!r:58} -> {teacher.answers_[i]!r:26} {np.round(P[i], 2)}")

# %%
# Where the endpoint returns token log-probabilities, rows are soft: the
# model's probability for each class name at the point where it wrote its
# answer. Elsewhere they are one-hot.
teacher_pred = classes[P.argmax(axis=1)]
print(f"soft rows: {int((P.max(axis=1) < 1).sum())}; teacher accuracy: {np.mean(teacher_pred == topics):.3f}")

# %%
# Running it again costs nothing
# ------------------------------
# The cache is keyed by endpoint, model, prompt, class names and text: a
# second run (or every fit of a grid search, or a rerun after a crash or a
# Ctrl-C) sends requests only for answers it does not hold yet.
again = LLMProvider(**teacher.get_params())
P_again = again.predict_proba(texts, classes)
print("requests on the second run:", again.usage_["requests"], "- cache hits:", again.usage_["cache_hits"])
assert np.array_equal(P, P_again)

# %%
# A student from 12 labels, the unlabeled texts and the teacher
# -------------------------------------------------------------
# ZeroMatch needs numeric features: a TF-IDF bag of words here (sentence
# embeddings in practice, see :mod:`zeromatch_sk.embedders`). Three texts per
# topic are labeled; every other row is unlabeled (``-1``).
from sklearn.feature_extraction.text import TfidfVectorizer

from zeromatch_sk import ZeroMatchClassifier

X = TfidfVectorizer().fit_transform(texts).toarray()
rng = np.random.default_rng(0)
y = np.full(len(texts), -1, dtype=object)
for topic in classes:
    y[rng.choice(np.flatnonzero(topics == topic), size=3, replace=False)] = topic
unlabeled = y == -1

# Small budgets keep this example fast; the defaults suit real data sets.
clf = ZeroMatchClassifier(hidden_layer_sizes=(64,), kd_epochs=5, max_epochs=5, lr=1e-2, random_state=0)
clf.fit(X, y, pseudo_labels=P)
print(f"teacher accuracy on unlabeled rows: {np.mean(teacher_pred[unlabeled] == topics[unlabeled]):.3f}")
print(f"student accuracy on unlabeled rows: {np.mean(clf.predict(X)[unlabeled] == topics[unlabeled]):.3f}")

# %%
# Where teacher and student err, on the training rows: the student sees the
# teacher's labels and the few true ones, and can overrule the teacher where
# the labels and the clusters of the features disagree with it.
from zeromatch_sk.plotting import plot_teacher_student_confusion

plot_teacher_student_confusion(clf, y_true=topics)

# %%
# Pointing at a real endpoint
# ---------------------------
# Only ``model``, ``base_url`` and the key change; everything else (cache,
# retries with backoff, budgets, progress bar) works the same. Keep the key in
# the environment (``export OPENAI_API_KEY=...``), never in code::
#
#     # OpenAI (the key is read from OPENAI_API_KEY at call time)
#     teacher = LLMProvider(model="gpt-4o-mini", cache="labels.sqlite",
#                           budget_tokens=2_000_000)
#
#     # vLLM: vllm serve meta-llama/Llama-3.3-70B-Instruct --port 8000
#     teacher = LLMProvider(model="meta-llama/Llama-3.3-70B-Instruct",
#                           base_url="http://localhost:8000/v1", cache="labels.sqlite",
#                           max_concurrency=32)
#
#     # Ollama (no key needed) or llama.cpp's llama-server
#     teacher = LLMProvider(model="llama3.3", base_url="http://localhost:11434/v1",
#                           cache="labels.sqlite")
#
#     # Another OpenAI-compatible service with its own key variable
#     teacher = LLMProvider(model="...", base_url="https://api.example.com/v1",
#                           api_key_env="EXAMPLE_API_KEY", cache="labels.sqlite")
#
#     P = teacher.predict_proba(texts, classes)
#     clf.fit(X, y, pseudo_labels=P)
#
# If a run stops (a Ctrl-C, a crash, an exhausted ``budget_requests`` or
# ``budget_tokens``, an endpoint that keeps failing), call ``predict_proba``
# again with the same ``cache``: only the missing texts are asked.

# %%
server.stop()
