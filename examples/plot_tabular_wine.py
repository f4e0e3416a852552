"""
Tabular data: a rule teacher written by column names
====================================================

A zero-shot teacher need not be a foundation model. On tabular data it is
often a rule an expert can write down without seeing labels: "wines low in
flavanoids are Barbera". Written against the columns of a
:class:`pandas.DataFrame`, such a rule needs the **raw** table, while the
student needs scaled numbers. :func:`zeromatch_sk.pipeline.make_pipeline`
gives each what it needs: the provider labels the raw DataFrame, the
classifier learns from the scaled features.

The data is scikit-learn's wine recognition set: 178 wines from three
cultivars of the same Italian region (Barolo, Grignolino and Barbera), 13
chemical measurements each. Only a few wines per cultivar get a label.
"""

# %%
# The rule, fixed before looking at any result
# --------------------------------------------
# The three cultivars are told apart by a few well-known traits: Barbera is
# poor in flavanoids (the phenols that make red wine astringent), Barolo is
# rich in the amino acid proline, and Grignolino is a light-coloured wine.
# The thresholds below come from those descriptions, written down before
# anything was measured, and were not tuned afterwards. Where none of the
# traits applies, the rule hedges between Barolo and Grignolino.
#
# The rule receives the classes it must score, in the order the classifier
# uses (sorted labels); it looks each one up by name.
import numpy as np

CULTIVARS = ["Barolo", "Grignolino", "Barbera"]  # wine's target 0, 1, 2


def wine_rule(X, classes):
    """Probabilities over ``classes`` from three traits of the raw DataFrame ``X``."""
    barbera = X["flavanoids"].to_numpy() < 1.4
    barolo = ~barbera & (X["proline"].to_numpy() > 1000)
    grignolino = ~barbera & ~barolo & (X["color_intensity"].to_numpy() < 3.8)
    unsure = ~(barbera | barolo | grignolino)
    P = np.full((len(X), 3), 0.1)  # columns: Barolo, Grignolino, Barbera
    P[barolo, 0] = 0.8
    P[grignolino, 1] = 0.8
    P[barbera, 2] = 0.8
    P[unsure] = [0.45, 0.45, 0.1]
    return P[:, [CULTIVARS.index(c) for c in classes]]


# %%
# Data: a few labels per cultivar
# -------------------------------
# The wines are split into a training part (70 %) and a test part; in the
# training part, 3 wines per cultivar keep their label and the others get
# ``-1`` (unlabeled). Labels are the cultivar names, so ``y`` is an object
# array that can hold both the names and ``-1``.
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split

wine = load_wine(as_frame=True)
X = wine.data  # a DataFrame: alcohol, malic_acid, ..., flavanoids, ..., proline
y_true = np.array(CULTIVARS, dtype=object)[wine.target.to_numpy()]
N_LABELS = 3


def draw(seed):
    """A train/test split and ``N_LABELS`` labeled wines per cultivar in the training part."""
    X_train, X_test, truth_train, truth_test = train_test_split(
        X, y_true, test_size=0.3, stratify=y_true, random_state=seed
    )
    rng = np.random.default_rng(seed)
    y = np.full(len(X_train), -1, dtype=object)
    for cultivar in CULTIVARS:
        y[rng.choice(np.flatnonzero(truth_train == cultivar), N_LABELS, replace=False)] = cultivar
    return X_train, X_test, y, truth_test


X_train, X_test, y, truth_test = draw(0)
print(f"{len(X_train)} training wines, {(y != -1).sum()} of them labeled; {len(X_test)} test wines")

# %%
# Why the teacher goes on the pipeline
# ------------------------------------
# Tabular features on different scales need a
# :class:`~sklearn.preprocessing.StandardScaler` in front of the student. A
# provider given to the classifier itself would see what the scaler made of
# the table, a bare array without column names:
from sklearn.pipeline import make_pipeline as sklearn_make_pipeline
from sklearn.preprocessing import StandardScaler

from zeromatch_sk import ZeroMatchClassifier

try:
    sklearn_make_pipeline(StandardScaler(), ZeroMatchClassifier(provider=wine_rule)).fit(X_train, y)
except IndexError as exc:
    print(f"IndexError: {exc}")

# %%
# :func:`zeromatch_sk.pipeline.make_pipeline` takes the provider itself and
# calls it on the raw DataFrame, with the classes of the labeled rows; its
# answers reach the classifier as ``pseudo_labels``. A small student and a
# short budget keep the example quick; the defaults train longer. The budget
# matters on so few rows: a smaller student (64 units, 15 epochs) did no
# better than logistic regression on these draws when we tried it.
from zeromatch_sk.pipeline import make_pipeline

STUDENT = dict(hidden_layer_sizes=(128,), max_epochs=20, random_state=0)

model = make_pipeline(StandardScaler(), ZeroMatchClassifier(**STUDENT), provider=wine_rule)
model.fit(X_train, y)
print(f"ZeroMatch on the test wines: {model.score(X_test, truth_test):.3f}")
print("the teacher's probabilities on the training wines:", model.teacher_proba_.shape)

# %%
# Against the rule alone and the labels alone
# -------------------------------------------
# Ten draws of the split and the labels (the one above is the first). The
# rule alone labels each test wine with its most probable class; logistic
# regression learns from the 9 labeled wines only; ZeroMatch learns from the
# labels, the unlabeled wines and the rule. All three are scored on the same
# test wines.
from sklearn.linear_model import LogisticRegression

N_DRAWS = 10
scores = {"rule alone": [], "logistic regression on the labels": [], "ZeroMatch (rule + labels)": []}
for seed in range(N_DRAWS):
    X_train, X_test, y, truth_test = draw(seed)
    classes = sorted(CULTIVARS)
    rule_pred = np.array(classes, dtype=object)[wine_rule(X_test, classes).argmax(axis=1)]
    scores["rule alone"].append(np.mean(rule_pred == truth_test))

    labeled = y != -1
    logreg = sklearn_make_pipeline(StandardScaler(), LogisticRegression())
    logreg.fit(X_train[labeled], y[labeled].astype(str))
    scores["logistic regression on the labels"].append(logreg.score(X_test, truth_test.astype(str)))

    if seed > 0:  # the first draw's model is the one fitted above
        model = make_pipeline(StandardScaler(), ZeroMatchClassifier(**STUDENT), provider=wine_rule)
        model.fit(X_train, y)
    scores["ZeroMatch (rule + labels)"].append(model.score(X_test, truth_test))

for name, values in scores.items():
    values = np.array(values)
    print(f"{name:34s} {values.mean():.3f}  (min {values.min():.3f}, max {values.max():.3f})")
zm = np.array(scores["ZeroMatch (rule + labels)"])
for name in ["logistic regression on the labels", "rule alone"]:
    other = np.array(scores[name])
    print(
        f"ZeroMatch vs {name}: above in {np.sum(zm > other)} draws, level in {np.sum(zm == other)}, "
        f"below in {np.sum(zm < other)}"
    )

# %%
# Each test part holds 54 wines, so one wine is 1.9 points. The figure shows
# every draw.
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6.5, 2.8), layout="constrained")
for row, (name, values) in enumerate(scores.items()):
    ax.plot(values, np.full(N_DRAWS, row) + np.linspace(-0.15, 0.15, N_DRAWS), "o", alpha=0.6)
    ax.plot([np.mean(values)] * 2, [row - 0.3, row + 0.3], "k-")
ax.set_yticks(range(len(scores)), list(scores))
ax.set_xlabel(f"accuracy on the test wines ({N_DRAWS} draws)")

# %%
# Notes
# -----
# - The rule's answer for a wine depends only on that wine, so the pipeline
#   caches it per row: in a :class:`~sklearn.model_selection.GridSearchCV`
#   the folds and candidates ask it about each wine once.
# - An LLM can be the teacher of the same table, as the next section shows.
#   See also :doc:`/tabular`.

# %%
# An LLM teacher on the same DataFrame
# ------------------------------------
# :class:`~zeromatch_sk.providers.LLMProvider` labels DataFrame rows: each
# row becomes a text of ``column: value`` lines, the prompt lists the
# classes, and the model's reply is read as one of them. A real service is
# one argument away (``LLMProvider("gpt-4o-mini")`` reads
# ``OPENAI_API_KEY``; any OpenAI-compatible endpoint takes ``base_url=``, and
# ``api_key_env=`` names the variable that holds its key).
# This page must build offline, so a local stand-in,
# :class:`zeromatch_sk.testing.FakeLLMServer`, plays the model: it reads the
# three traits from the message and answers with the cultivar the rule
# above would pick. What it shows is the plumbing, not an LLM's accuracy.
import re

from zeromatch_sk.providers import LLMProvider
from zeromatch_sk.testing import FakeLLMServer


def fake_sommelier(message):
    """The reply of the stand-in model: the rule's cultivar, from the row in ``message``."""

    def value(column, short):
        match = re.search(rf"(?:{column}: |{short} )([0-9]+(?:\.[0-9]+)?)", message)
        return float(match.group(1)) if match else float("nan")

    flavanoids = value("flavanoids", "flavanoids")
    proline = value("proline", "proline")
    colour = value("color_intensity", "colour intensity")
    if flavanoids < 1.4:
        return "Barbera"
    if proline > 1000:
        return "Barolo"
    return "Grignolino" if colour < 3.8 else "Barolo"


X_train, X_test, y, truth_test = draw(0)
with FakeLLMServer(fake_sommelier) as server:
    llm = LLMProvider("sommelier", base_url=server.base_url, verbose=0)
    model = make_pipeline(StandardScaler(), ZeroMatchClassifier(**STUDENT), provider=llm)
    model.fit(X_train, y)
    default_prompt = server.requests[0]["messages"][-1]["content"]
    print(f"ZeroMatch with the LLM teacher, test wines: {model.score(X_test, truth_test):.3f}")
    print(f"{llm.usage_['requests']} requests for {len(X_train)} wines")

# %%
# The row as the model received it (the end of the user message):
print(default_prompt[-400:])

# %%
# Thirteen ``column: value`` lines per wine cost tokens on every request. A
# ``row_format`` template keeps what the question needs, and ``cache=``
# (a SQLite file) keeps every answer, so a refit, a grid search or a
# rerun next week asks each distinct row once.
template = "A wine with flavanoids {flavanoids}, proline {proline} and colour intensity {color_intensity}."
with FakeLLMServer(fake_sommelier) as server:
    short = LLMProvider("sommelier", base_url=server.base_url, row_format=template, verbose=0)
    P_short = short.predict_proba(X_train, sorted(CULTIVARS))
    short_prompt = server.requests[0]["messages"][-1]["content"]
print(f"user message: {len(default_prompt)} characters by default, {len(short_prompt)} with row_format")
print(short_prompt[-120:])
classes = np.array(sorted(CULTIVARS), dtype=object)
rule_labels = classes[wine_rule(X_train, list(classes)).argmax(axis=1)]
print(
    f"answers to the template agree with the rule on {np.mean(classes[P_short.argmax(axis=1)] == rule_labels):.0%} of rows"
)
