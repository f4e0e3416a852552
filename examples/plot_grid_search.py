"""
Grid search over the ablations, with unlabeled rows and a precomputed teacher
=============================================================================

:class:`~sklearn.model_selection.GridSearchCV` works with
:class:`~zeromatch_sk.ZeroMatchClassifier` once two things are right:

- the folds: :class:`~zeromatch_sk.model_selection.SemiSupervisedKFold`
  tests on labeled rows only and gives every unlabeled row (``y == -1``) to
  every training fold;
- the score: :func:`~zeromatch_sk.model_selection.labeled_scorer` scores the
  rows with a label and ignores the ``-1`` rows.

The teacher is queried once for all rows and its output passed as
``pseudo_labels``; scikit-learn's metadata routing cuts it to each fold's
training rows. Here the candidates are the paper's ablations, each one
parameter away from ZeroMatch. See :ref:`model_selection` for the details.
"""

# %%
# Data and a simulated teacher
# ----------------------------
# 1,000 rows of tabular data in four classes, 15 labels per class. A real
# teacher would be a foundation model (see the other examples); here it is
# simulated: right about 70 % of the time, and it mistakes most of class 0
# for class 1 (real zero-shot teachers have such blind spots).
import numpy as np
from sklearn.datasets import make_classification

X, y_true = make_classification(
    n_samples=1000, n_features=20, n_informative=8, n_redundant=4, n_classes=4,
    n_clusters_per_class=1, class_sep=1.2, random_state=0,
)  # fmt: skip
rng = np.random.default_rng(0)
teacher_label = y_true.copy()
teacher_label[(y_true == 0) & (rng.random(len(y_true)) < 0.7)] = 1  # the blind spot
noise = rng.random(len(y_true)) < 0.2
teacher_label[noise] = rng.integers(0, 4, noise.sum())
logits = 3.0 * np.eye(4)[teacher_label] + rng.normal(0, 0.5, (len(y_true), 4))
P = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)  # teacher probabilities
print(f"teacher accuracy: {np.mean(P.argmax(1) == y_true):.3f}")

y = np.full_like(y_true, -1)
for c in range(4):
    y[rng.choice(np.flatnonzero(y_true == c), size=15, replace=False)] = c
print(f"{(y != -1).sum()} labeled rows, {(y == -1).sum()} unlabeled")

# %%
# The estimator and the grid
# --------------------------
# Metadata routing must be switched on for ``pseudo_labels`` to reach the
# classifier inside the search; ``set_fit_request`` says the classifier wants
# them. Tabular features go through a :class:`~sklearn.preprocessing.StandardScaler`
# first (ZeroMatch's feature-space views and its MLP expect comparable
# scales). Short training budgets keep the example quick.
import sklearn
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from zeromatch_sk import ZeroMatchClassifier

sklearn.set_config(enable_metadata_routing=True)

student = ZeroMatchClassifier(hidden_layer_sizes=(128,), kd_epochs=5, max_epochs=8, random_state=0)
pipe = make_pipeline(StandardScaler(), student.set_fit_request(pseudo_labels=True))

param_grid = [
    {"zeromatchclassifier__lambda_kd": [1.0, 0.0]},  # ZeroMatch; distil, then plain AdaMatch
    {"zeromatchclassifier__aux_head": [False]},  # distil into the main head
    {"zeromatchclassifier__kd_schedule": ["constant"]},  # constant distillation weight
]
names = ["ZeroMatch", "lambda_kd=0", "aux_head=False", "kd_schedule='constant'"]

# %%
# Search
# ------
from sklearn.model_selection import GridSearchCV

from zeromatch_sk.model_selection import SemiSupervisedKFold, labeled_scorer

cv = SemiSupervisedKFold(n_splits=4, shuffle=True, random_state=0)
search = GridSearchCV(pipe, param_grid, cv=cv, scoring=labeled_scorer("accuracy"))
search.fit(X, y, pseudo_labels=P)

for name, mean, std in zip(
    names, search.cv_results_["mean_test_score"], search.cv_results_["std_test_score"]
):
    print(f"{name:24s} {mean:.3f} +/- {std:.3f}")
print("best:", search.best_params_)

# %%
# Each test fold holds 15 labeled rows, so a fold's accuracy moves in steps
# of 1/15 and the spread between folds is large: differences of a few points
# between candidates are within the noise. The figure shows the folds
# behind each mean.
import matplotlib.pyplot as plt

results = search.cv_results_
folds = np.array([results[f"split{i}_test_score"] for i in range(cv.get_n_splits())])
fig, ax = plt.subplots(figsize=(6.5, 3.2), layout="constrained")
order = np.arange(len(names))[::-1]
ax.barh(order, results["mean_test_score"], xerr=results["std_test_score"], color="C0", alpha=0.6, capsize=3)
for i in range(len(names)):
    ax.plot(folds[:, i], np.full(len(folds), order[i]), "k.", alpha=0.6)
ax.axvline(np.mean(P.argmax(1) == y_true), color="C3", linestyle="--", label="teacher alone")
ax.set_yticks(order, names)
ax.set_xlabel("accuracy on held-out labeled rows (4 folds)")
ax.set_xlim(0, 1)
ax.legend(loc="lower left")

# %%
# What the search does not do
# ---------------------------
# The cross-validated scores pick a setting; they are optimistic for the
# setting they picked. Since the true classes of every row are known here,
# the refitted best model can also be checked on the rows that were
# unlabeled, a luxury a real project does not have:
best = search.best_estimator_
unlabeled = y == -1
print(
    f"refitted best model on the unlabeled rows: {np.mean(best.predict(X[unlabeled]) == y_true[unlabeled]):.3f}"
)
print(
    f"teacher on the same rows:                  {np.mean(P[unlabeled].argmax(1) == y_true[unlabeled]):.3f}"
)

# %%
# The stock splitter and scorer, for contrast: ``StratifiedKFold`` treats
# ``-1`` as a class and puts unlabeled rows in every test fold, where plain
# ``"accuracy"`` counts each of them as an error.
from sklearn.model_selection import StratifiedKFold, cross_val_score

stock = cross_val_score(pipe, X, y, cv=StratifiedKFold(4), scoring="accuracy", params={"pseudo_labels": P})
print(f"stock cross-validation: {stock.mean():.3f}  (meaningless: most test rows have no label)")

sklearn.set_config(enable_metadata_routing=False)
