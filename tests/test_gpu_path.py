"""The GPU path's promises, checked on CPU (issue 20.2): no host sync per step, and the GPU script runs."""

import importlib.util
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_classification

from zeromatch_sk import ZeroMatchClassifier

SYNC_METHODS = ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__", "__index__")


def _data():
    X, y_true = make_classification(
        n_samples=200, n_features=6, n_informative=4, n_redundant=0, n_classes=3,
        n_clusters_per_class=1, class_sep=2.0, random_state=0,
    )  # fmt: skip
    rng = np.random.RandomState(0)
    y = np.full_like(y_true, -1)
    for c in range(3):
        y[rng.choice(np.flatnonzero(y_true == c), 6, replace=False)] = c
    teacher = np.where(rng.rand(len(y)) < 0.8, y_true, rng.randint(3, size=len(y)))
    return X.astype(np.float32), y, teacher


def _count_syncs(monkeypatch, **params):
    """Fit once, counting every call that moves a tensor's value to the host."""
    counts = dict.fromkeys(SYNC_METHODS, 0)
    with monkeypatch.context() as patch:
        for name in SYNC_METHODS:
            original = getattr(torch.Tensor, name)

            def counted(self, *args, _name=name, _original=original, **kwargs):
                counts[_name] += 1
                return _original(self, *args, **kwargs)

            patch.setattr(torch.Tensor, name, counted)
        X, y, teacher = _data()
        clf = ZeroMatchClassifier(hidden_layer_sizes=(16,), kd_epochs=2, max_epochs=3, lr=1e-2, random_state=0, **params)  # fmt: skip
        clf.fit(X, y, pseudo_labels=teacher)
    assert len(clf.history_) == 5  # both fits run every epoch, so their counts compare like for like
    return counts


def test_host_syncs_do_not_grow_with_steps(monkeypatch):
    # Four times the stage-2 steps and twice the stage-1 steps, the same epochs: a per-step
    # .item() (or bool/float of a tensor) would add calls; per-epoch reads add none.
    few = _count_syncs(monkeypatch, steps_per_epoch=4, batch_size=32)
    many = _count_syncs(monkeypatch, steps_per_epoch=16, batch_size=16)
    assert sum(few.values()) > 0  # the counter sees the per-epoch reads
    assert many == few


def test_gpu_check_script_runs_small_on_cpu(capsys):
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"
    spec = importlib.util.spec_from_file_location("gpu_check", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--smoke", "--device", "cpu", "--half-on-cpu"])
    out = capsys.readouterr().out
    assert "cell  cpu" in out and "big   cpu" in out and "rows/s" in out
    assert "cell  cpu+bf16" in out and "fp16 - float32 accuracy on cpu" in out
