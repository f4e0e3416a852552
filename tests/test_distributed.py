"""Model search on a dask cluster through joblib's backend (issue 20.1)."""

import numpy as np
import pytest
import sklearn
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

from zeromatch_sk import ZeroMatchClassifier
from zeromatch_sk.model_selection import SemiSupervisedKFold

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed: pip install zeromatch-sk[distributed]"
)
joblib = pytest.importorskip("joblib")

FAST = dict(hidden_layer_sizes=(16,), kd_epochs=2, max_epochs=3, steps_per_epoch=5, batch_size=16, lr=1e-2, random_state=0)  # fmt: skip
GRID = {"lambda_kd": [0.0, 1.0], "kd_schedule": ["linear", "constant"]}


def _data(seed=0):
    X, y_true = make_classification(
        n_samples=180, n_features=6, n_informative=4, n_redundant=0, n_classes=3,
        n_clusters_per_class=1, class_sep=2.0, random_state=seed,
    )  # fmt: skip
    rng = np.random.RandomState(seed)
    y = np.full_like(y_true, -1)
    for c in range(3):
        y[rng.choice(np.flatnonzero(y_true == c), 6, replace=False)] = c
    teacher = np.where(rng.rand(len(y)) < 0.8, y_true, rng.randint(3, size=len(y)))
    return X.astype(np.float32), y, teacher


def _search(n_jobs):
    X, y, teacher = _data()
    with sklearn.config_context(enable_metadata_routing=True):
        est = ZeroMatchClassifier(**FAST).set_fit_request(pseudo_labels=True)
        grid = GridSearchCV(est, GRID, cv=SemiSupervisedKFold(3), n_jobs=n_jobs)
        return grid.fit(X, y, pseudo_labels=teacher)


def _torch_threads():
    import torch

    return torch.get_num_threads()


def test_grid_search_on_dask_matches_serial():
    serial = _search(n_jobs=1)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        with joblib.parallel_backend("dask"):
            remote = _search(n_jobs=-1)
        worker_threads = set(client.run(_torch_threads).values())
        assert len(client.scheduler_info()["workers"]) == 2
    assert worker_threads == {1}  # one torch thread per single-threaded worker: no oversubscription
    assert remote.best_params_ == serial.best_params_
    for key in serial.cv_results_:
        if key.startswith(("split", "mean_test", "std_test", "rank_test")):
            np.testing.assert_array_equal(remote.cv_results_[key], serial.cv_results_[key], err_msg=key)
