"""The skorch net behind ZeroMatchClassifier: skorch's contract, callbacks, divergence, devices, host syncs."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.datasets import make_blobs
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, EpochScoring, LRScheduler, ProgressBar

from zeromatch_sk import ZeroMatchClassifier
from zeromatch_sk._modules import MLPEncoder, ZeroMatchModule
from zeromatch_sk._training import TrainingPlan, ZeroMatchNet, resolve_device
from zeromatch_sk.augment import Identity
from zeromatch_sk.callbacks import FitProgressBar, TwoStageEarlyStopping

FAST = dict(
    hidden_layer_sizes=(16,),
    kd_epochs=2,
    max_epochs=3,
    steps_per_epoch=6,
    batch_size=8,
    lr=1e-2,
    random_state=0,
)


@pytest.fixture(scope="module")
def data():
    """200 rows, 3 classes, 5 labeled per class; a teacher right about 70 % of the time."""
    X, y_true = make_blobs(n_samples=200, centers=3, n_features=6, cluster_std=3.0, random_state=0)
    rng = np.random.default_rng(0)
    y = np.full_like(y_true, -1)
    for c in range(3):
        y[rng.choice(np.flatnonzero(y_true == c), 5, replace=False)] = c
    teacher = np.where(rng.random(len(y)) < 0.3, rng.integers(0, 3, len(y)), y_true)
    return X, y, teacher


def fit(data, **params):
    X, y, teacher = data
    return ZeroMatchClassifier(**{**FAST, **params}).fit(X, y, pseudo_labels=teacher)


def make_net(data, *, net_kwargs=None, **plan_kwargs):
    """A ZeroMatchNet built as the classifier builds it, on tensors ready for net.fit."""
    X, y, teacher = data
    torch.manual_seed(0)
    module = ZeroMatchModule(MLPEncoder(X.shape[1], (16,), 0.1), 16, 3, aux_head=True)
    plan = dict(
        kd_epochs=2, max_epochs=2, batch_size=8, uratio=3, steps_per_epoch=5, small_data_steps=(1, 1), lr=1e-2,
        weight_decay=1e-4, warmup_ratio=0.0, p_cutoff=0.95, da_momentum=0.999, lambda_u=1.0, lambda_kd=1.0,
        kd_schedule="linear", aux_head=True, kd_target="hard", weak_augment=Identity(), strong_augment=Identity(),
        seed=0,
    )  # fmt: skip
    net = ZeroMatchNet(module, plan=TrainingPlan(**{**plan, **plan_kwargs}), **(net_kwargs or {}))
    tensors = (
        torch.as_tensor(X, dtype=torch.float32),
        torch.as_tensor(y),
        torch.eye(3)[torch.as_tensor(teacher)],
    )
    return net, tensors


# ------------------------------------------------------------------ skorch callbacks users bring


@pytest.mark.parametrize(
    "callback, error, match",
    [
        (EarlyStopping(), TypeError, "TwoStageEarlyStopping"),
        (EarlyStopping(monitor="train_loss"), TypeError, "skips stage 2"),
        (EpochScoring("accuracy", on_train=True), TypeError, "net.predict_proba"),
        (LRScheduler(policy="StepLR", step_size=1), TypeError, "warmup_ratio"),
        (ProgressBar(), ValueError, "verbose=1"),
    ],
)
def test_one_stage_skorch_callbacks_are_refused_at_fit_with_the_alternative(data, callback, error, match):
    clf = ZeroMatchClassifier(**FAST, callbacks=[callback])  # accepted at construction: sklearn's contract
    with pytest.raises(error, match=match):
        clf.fit(data[0], data[1], pseudo_labels=data[2])


def test_counting_progress_bar_still_works(data):
    clf = fit(data, callbacks=[ProgressBar(batches_per_epoch="count")])
    assert len(clf.history_) == 5


def test_verbose_shows_one_bar_over_the_whole_fit(data, capsys):
    clf = fit(data, verbose=1)
    steps = sum(len(row["batches"]) for row in clf.history_)
    captured = capsys.readouterr()
    assert f"{steps}/{steps}" in captured.err  # the bar's total is every step of both stages
    assert "kd_agreement" in captured.out  # the epoch table still prints


def test_fit_progress_bar_total_follows_a_stage_that_ends_early(data, capsys):
    # Stage 1 ends after 2 of 10 epochs; the bar's total shrinks to the steps actually run.
    stop = TwoStageEarlyStopping(patience=1, agreement_tol=1.0, min_fraction=1.0)
    clf = fit(data, kd_epochs=10, callbacks=[stop, FitProgressBar()])
    steps = sum(len(row["batches"]) for row in clf.history_)
    assert f"{steps}/{steps}" in capsys.readouterr().err


# ------------------------------------------------------------------ TwoStageEarlyStopping


def test_early_stopping_ends_stage1_and_still_runs_stage2(data):
    stop = TwoStageEarlyStopping(patience=1, agreement_tol=1.0, min_fraction=1.0)
    clf = fit(data, kd_epochs=10, callbacks=[stop])
    stages = list(clf.history_[:, "stage"])
    assert stages == [1, 1, 2, 2, 2]  # stage 1 stopped after its first epoch without progress
    assert stop.stopped_ == {1: 2}


def test_early_stopping_ends_stage2_on_settled_predictions(data):
    stop = TwoStageEarlyStopping(patience=2, churn_tol=1.0, min_fraction=0.0)
    clf = fit(data, max_epochs=10, callbacks=[stop])
    stages = list(clf.history_[:, "stage"])
    assert stages.count(2) == 3  # epoch 1 has no churn yet; 2 and 3 count as settled
    assert np.isnan(stop.churn_[0]) and all(0 <= c <= 1 for c in stop.churn_[1:])
    assert stop.stopped_ == {2: 5}
    assert np.all(np.isfinite(clf.predict_proba(data[0])))


def test_early_stopping_respects_min_fraction(data):
    stop = TwoStageEarlyStopping(patience=1, churn_tol=1.0, min_fraction=0.5)
    clf = fit(data, max_epochs=8, callbacks=[stop])
    assert list(clf.history_[:, "stage"]).count(2) == 4


@pytest.mark.parametrize("bad", [dict(patience=0), dict(churn_tol=2.0), dict(min_fraction=-0.1)])
def test_early_stopping_parameters_are_checked_at_fit(data, bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        fit(data, callbacks=[TwoStageEarlyStopping(**bad)])


def test_zeromatch_callbacks_refuse_a_plain_skorch_net():
    net = NeuralNet(torch.nn.Linear(2, 2), torch.nn.CrossEntropyLoss, max_epochs=1, train_split=None,
                    callbacks=[TwoStageEarlyStopping()], verbose=0)  # fmt: skip
    with pytest.raises(TypeError, match="ZeroMatchNet"):
        net.fit(np.zeros((4, 2), dtype=np.float32), np.array([0, 1, 0, 1]))


def test_early_stopping_is_clonable_and_the_fit_pickles(data):
    import pickle

    clf = fit(data, callbacks=[TwoStageEarlyStopping(patience=2), FitProgressBar()])
    clone(clf)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(data[0]), clf.predict_proba(data[0]))
    assert clf.net_.fit_X_ is None  # the training rows are not kept


# ------------------------------------------------------------------ skorch's contract


def test_no_constructor_parameter_is_rebound_during_fit(data):
    # max_prior_drift=0 forces the drift guard to run stage 2 again (it used to rebind net.plan).
    net, (X, y, T) = make_net(data, drift_prior=torch.full((3,), 1 / 3), max_prior_drift=0.0)
    before = {k: v for k, v in net.get_params(deep=False).items()}
    net.fit(X, y, teacher=T)
    assert net.drift_fallback_ and net.plan_.lambda_u == 0.0
    after = net.get_params(deep=False)
    assert after.keys() == before.keys()
    assert all(after[k] is before[k] for k in before), [k for k in before if after[k] is not before[k]]
    assert net.plan.lambda_u == 1.0


def test_net_clones(data):
    net, _ = make_net(data)
    twin = clone(net)
    assert twin.plan.lr == net.plan.lr == twin.lr and twin.get_params().keys() == net.get_params().keys()


def test_optimizer_parameters_are_honoured(data):
    net, (X, y, T) = make_net(data, net_kwargs=dict(optimizer__betas=(0.5, 0.6), optimizer__weight_decay=0.3))
    net.fit(X, y, teacher=T)
    assert net.optimizer_.defaults["betas"] == (0.5, 0.6)
    assert [g["weight_decay"] for g in net.optimizer_.param_groups] == [0.3, 0.0]  # never on biases


def test_skorch_lr_and_optimizer_lr_set_the_peak_learning_rate(data):
    net, (X, y, T) = make_net(data, net_kwargs=dict(lr=0.05))
    net.fit(X, y, teacher=T)
    assert net.history[0, "batches", 0, "lr"] == pytest.approx(0.05)
    net, (X, y, T) = make_net(data, net_kwargs=dict(optimizer__lr=0.07))
    net.fit(X, y, teacher=T)
    assert net.history[0, "batches", 0, "lr"] == pytest.approx(0.07)


def test_optimizer_param_groups_are_refused(data):
    net, (X, y, T) = make_net(data, net_kwargs=dict(optimizer__param_groups=[("head.*", {"lr": 1.0})]))
    with pytest.raises(ValueError, match="optimizer__param_groups"):
        net.fit(X, y, teacher=T)


# ------------------------------------------------------------------ training that diverges


def test_huge_learning_rate_raises_with_the_fix(data):
    with pytest.raises(FloatingPointError, match=r"Lower lr \(now 1e\+06"):
        fit(data, lr=1e6, max_epochs=6, steps_per_epoch=20)


class _NaNEncoder(torch.nn.Module):
    def __init__(self, n_features):
        super().__init__()
        self.linear = torch.nn.Linear(n_features, 8)

    def forward(self, x):
        return self.linear(x) * float("nan")


class _LateNaNEncoder(_NaNEncoder):
    """Finite on the classifier's checks before training (eval mode, no gradients), NaN in training."""

    def forward(self, x):
        out = self.linear(x)
        return out * float("nan") if self.training and torch.is_grad_enabled() else out


def test_module_returning_nan_raises_naming_the_module(data):
    # NaN from the start: caught by the dry forward pass before training.
    with pytest.raises(ValueError, match="module returned non-finite values"):
        fit(data, module=_NaNEncoder)
    # NaN once training runs: caught by the per-epoch check in the first epoch.
    with pytest.raises(FloatingPointError, match="custom module returns finite outputs") as info:
        fit(data, module=_LateNaNEncoder)
    assert "stage 1" in str(info.value)  # caught in the first epoch, not after the whole fit


def test_history_values_are_floats_read_once_per_epoch(data, monkeypatch):
    # Count host reads of tensors (item, float, tolist) during a fit: a constant per epoch, not per step.
    clf = ZeroMatchClassifier(**{**FAST, "steps_per_epoch": 40})
    calls = {"n": 0}
    for name in ("item", "__float__", "tolist"):
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, **kwargs):
            calls["n"] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    clf.fit(data[0], data[1], pseudo_labels=data[2])
    monkeypatch.undo()
    steps = sum(len(row["batches"]) for row in clf.history_)
    assert calls["n"] <= 5 * len(clf.history_) < steps
    batch = clf.history_[-1, "batches", 0]
    assert all(
        type(batch[k]) is float for k in ("train_loss", "loss_sup", "loss_unsup", "mask_ratio", "threshold")
    )
    means = clf.history_[-1]
    assert means["loss_sup"] == pytest.approx(np.mean([b["loss_sup"] for b in means["batches"]]))


# ------------------------------------------------------------------ devices


def test_device_auto_resolves_and_fits(data):
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    clf = fit(data, device="auto")
    assert torch.device(clf.net_.device).type == expected
    assert clf.get_params()["device"] == "auto"  # the parameter itself is left as given
    assert np.all(np.isfinite(clf.predict_proba(data[0])))


def test_unknown_device_names_the_parameter(data):
    with pytest.raises(ValueError, match="device='gpu0'.*'auto'"):
        fit(data, device="gpu0")


def test_a_callback_ending_the_fit_in_stage1_leaves_a_usable_model(data):
    from skorch.callbacks import Callback

    class Interrupt(Callback):
        def on_epoch_end(self, net, **kwargs):
            raise KeyboardInterrupt  # skorch's way to end a fit

    clf = fit(data, callbacks=[Interrupt()])
    assert list(clf.history_[:, "stage"]) == [1]
    assert np.all(np.isfinite(clf.predict_proba(data[0])))


# ------------------------------------------------------------------ the default stage-2 step budget


@pytest.mark.parametrize(
    "n_rows, steps",
    [
        (1, 5),  # at least 5 steps an epoch, however small the data
        (200, 5),
        (320, 5),
        (321, 6),  # ceil(321 / 64): from here the budget grows with the data ...
        (1_000, 16),
        (1_280, 20),  # ... up to 20 steps ...
        (3_840, 20),  # ... until one pass of 192-row unlabeled batches is longer
        (5_000, 27),  # ceil(5000 / 192)
    ],
)
def test_stage2_steps_per_epoch_by_hand(n_rows, steps):
    from zeromatch_sk._training import stage2_steps_per_epoch

    assert stage2_steps_per_epoch(n_rows, batch_size=64, uratio=3, step_range=(5, 20)) == steps


@given(
    n=st.integers(1, 200_000),
    batch_size=st.integers(1, 512),
    uratio=st.integers(1, 8),
    low=st.integers(1, 20),
    extra=st.integers(0, 30),
)
def test_stage2_steps_per_epoch_grows_with_the_data_and_covers_one_pass(n, batch_size, uratio, low, extra):
    from zeromatch_sk._training import stage2_steps_per_epoch

    step_range = (low, low + extra)
    steps = stage2_steps_per_epoch(n, batch_size, uratio, step_range)
    one_pass = -(-n // (batch_size * uratio))
    assert steps >= one_pass  # every row of the unlabeled stream is seen each epoch
    assert steps >= low
    assert steps <= max(one_pass, low + extra)  # the small-data budget never exceeds its cap
    assert (
        stage2_steps_per_epoch(n + 1, batch_size, uratio, step_range) >= steps
    )  # more data, never fewer steps


def test_a_small_default_fit_trains_for_fewer_stage2_steps_than_a_larger_one():
    X, y_true = make_blobs(n_samples=1_400, centers=2, n_features=4, random_state=0)
    y = np.where(np.arange(len(y_true)) % 50 == 0, y_true, -1)
    counts = {}
    for n in (200, 1_400):
        clf = ZeroMatchClassifier(kd_epochs=1, max_epochs=2, hidden_layer_sizes=(8,), random_state=0)
        clf.fit(X[:n], y[:n], pseudo_labels=y_true[:n])
        stages = np.asarray(clf.history_[:, "stage"])
        counts[n] = np.asarray(clf.history_[:, "train_batch_count"])[stages == 2].tolist()
    assert counts == {200: [5, 5], 1_400: [20, 20]}
