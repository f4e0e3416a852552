"""How often a TeacherPipeline asks its teacher during a grid search, with and without its row cache.

A counting rule teacher on scikit-learn's wine data (178 rows, 3 labels per class) inside
``make_pipeline(StandardScaler(), ZeroMatchClassifier(...), provider=teacher)``, searched by
``GridSearchCV`` over 2 candidates with ``SemiSupervisedKFold(3)`` (6 fits plus the refit), then by
``cross_validate`` with the same folds. "uncached" is the same teacher made unkeyable (a parameter
joblib cannot hash), so the pipeline cannot cache its answers and asks on every fit. Counts, not timings.

    python benchmarks/teacher_cache_calls.py

``teacher_cache_calls_results.txt`` is one run (well under a minute).
"""

import warnings

import numpy as np

from zeromatch_sk.providers import BaseProvider

CALLS = []


class CountingTeacher(BaseProvider):
    """A rule on flavanoids and proline; counts the rows it is asked about in ``CALLS`` (shared by clones).

    ``salt`` only decides whether the pipeline can key its answers: a lambda cannot be hashed, so a
    teacher holding one is asked on every fit.
    """

    def __init__(self, salt=None):
        self.salt = salt

    def predict_proba(self, X, classes):
        CALLS.append(len(X))
        barbera = X["flavanoids"].to_numpy() < 1.4
        barolo = ~barbera & (X["proline"].to_numpy() > 1000)
        P = np.full((len(X), 3), 0.1)
        P[barolo, 0] = 0.8
        P[~barolo & ~barbera, 1] = 0.8
        P[barbera, 2] = 0.8
        return P[:, [int(c) for c in classes]]


def main():
    import torch
    from sklearn.datasets import load_wine
    from sklearn.model_selection import GridSearchCV, cross_validate
    from sklearn.preprocessing import StandardScaler

    from zeromatch_sk import ZeroMatchClassifier
    from zeromatch_sk.model_selection import SemiSupervisedKFold, labeled_scorer
    from zeromatch_sk.pipeline import clear_teacher_cache, make_pipeline

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    X, y_true = load_wine(as_frame=True, return_X_y=True)
    rng = np.random.default_rng(0)
    y = np.full(len(X), -1)
    for c in range(3):
        y[rng.choice(np.flatnonzero(y_true == c), 3, replace=False)] = c
    cv = SemiSupervisedKFold(3, shuffle=True, random_state=0)
    train_rows = sum(len(train) for train, _ in cv.split(X, y))
    student = ZeroMatchClassifier(hidden_layer_sizes=(8,), kd_epochs=2, max_epochs=3, random_state=0)
    print(f"{len(X)} rows; the 3 training folds hold {train_rows} rows in all")
    for keyable in (True, False):
        clear_teacher_cache()
        CALLS.clear()
        calls = CALLS
        teacher = CountingTeacher() if keyable else CountingTeacher(salt=lambda: None)
        model = make_pipeline(StandardScaler(), student, provider=teacher)
        grid = GridSearchCV(
            model, {"zeromatchclassifier__lambda_kd": [0.5, 1.0]}, cv=cv, scoring=labeled_scorer()
        )
        grid.fit(X, y)
        n_grid, n_grid_calls = sum(calls), len(calls)
        cross_validate(model, X, y, cv=cv, scoring=labeled_scorer())
        label = "cached  " if keyable else "uncached"
        print(
            f"{label}: grid search (2 candidates x 3 folds + refit) asked {n_grid} rows in {n_grid_calls} calls; "
            f"a cross_validate after it asked {sum(calls) - n_grid} more"
        )


if __name__ == "__main__":
    main()
