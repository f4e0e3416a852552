"""zeromatch_sk.set_config / config_context: torch's CPU threads during fit (issue 21.3)."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from zeromatch_sk import ZeroMatchClassifier, config_context, get_config, set_config
from zeromatch_sk._config import usable_cores


class SeeThreads(Callback):
    """Records torch's thread count at each epoch of the fit."""

    def __init__(self):
        self.seen = []

    def on_epoch_end(self, net, **kwargs):
        self.seen.append(torch.get_num_threads())


def _data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4)).astype(np.float32)
    y = np.full(60, -1)
    y[:6] = [0, 0, 0, 1, 1, 1]
    return X, y


def _fit(**params):
    seer = SeeThreads()
    clf = ZeroMatchClassifier(
        hidden_layer_sizes=(8,),
        kd_epochs=0,
        max_epochs=2,
        steps_per_epoch=2,
        callbacks=[seer],
        random_state=0,
        **params,
    )
    return clf.fit(*_data()), seer.seen


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield before
    torch.set_num_threads(before)
    set_config(torch_threads=None)


def test_fit_runs_with_the_configured_threads_and_restores_them(restore_threads):
    torch.set_num_threads(2)
    with config_context(torch_threads=1):
        _, seen = _fit()
    assert seen == [1, 1]
    assert torch.get_num_threads() == 2
    assert get_config() == {"torch_threads": None, "precision": "float32"}


def test_default_leaves_torch_alone(restore_threads):
    torch.set_num_threads(1)
    _, seen = _fit()
    assert seen == [1, 1]
    assert torch.get_num_threads() == 1


def test_auto_is_capped_by_cores_and_torch(restore_threads):
    torch.set_num_threads(1)
    set_config(torch_threads="auto")
    _, seen = _fit()
    assert seen == [min(1, usable_cores())] * 2


def test_threads_are_restored_when_fit_fails(restore_threads):
    torch.set_num_threads(2)

    class Boom(Callback):
        def on_epoch_end(self, net, **kwargs):
            raise RuntimeError("boom")

    with config_context(torch_threads=1), pytest.raises(RuntimeError, match="boom"):
        ZeroMatchClassifier(kd_epochs=0, max_epochs=1, steps_per_epoch=1, callbacks=[Boom()]).fit(*_data())
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize("bad", [0, -1, 1.5, "many", True])
def test_bad_setting_names_it(bad):
    with pytest.raises(ValueError, match="torch_threads must be None"):
        set_config(torch_threads=bad)


def test_precision_setting_is_checked_and_scoped():
    with pytest.raises(ValueError, match="precision must be one of"):
        config_context(precision="half").__enter__()
    with config_context(precision="bf16"):
        assert get_config() == {"torch_threads": None, "precision": "bf16"}
        set_config(torch_threads=1)  # a setting not passed keeps its value
        assert get_config()["precision"] == "bf16"
    assert get_config() == {"torch_threads": None, "precision": "float32"}


@pytest.mark.parametrize("precision, dtype", [("bf16", torch.bfloat16), ("fp16", torch.float16)])
def test_half_precision_training_runs_in_half_and_keeps_float32_weights_and_outputs(
    monkeypatch, precision, dtype
):
    X, y = _data()
    dtypes = []
    real_linear = torch.nn.functional.linear

    def spy(*args, **kwargs):
        out = real_linear(*args, **kwargs)
        dtypes.append(out.dtype)
        return out

    monkeypatch.setattr(torch.nn.functional, "linear", spy)
    params = dict(kd_epochs=1, max_epochs=3, steps_per_epoch=5, random_state=0, verbose=0)
    with config_context(precision=precision):
        clf = ZeroMatchClassifier(**params).fit(X, y)
    assert dtype in dtypes  # the training forwards ran under autocast
    assert clf.net_.grad_scaler_ is None  # fp16's loss scaler does not outlive the fit
    P = clf.predict_proba(X)
    assert P.dtype == np.float64 and np.isfinite(P).all()
    assert next(clf.net_.module_.parameters()).dtype == torch.float32
    dtypes.clear()
    ZeroMatchClassifier(**params).fit(X, y)
    assert dtype not in dtypes  # the default stays float32


def test_fp16_steps_go_through_the_loss_scaler(monkeypatch):
    calls = []
    real_step = torch.amp.GradScaler.step

    def step(self, optimizer, *args, **kwargs):
        calls.append(self.get_scale())
        return real_step(self, optimizer, *args, **kwargs)

    monkeypatch.setattr(torch.amp.GradScaler, "step", step)
    X, y = _data()
    with config_context(precision="fp16"):
        ZeroMatchClassifier(kd_epochs=1, max_epochs=2, steps_per_epoch=3, random_state=0, verbose=0).fit(X, y)
    assert len(calls) > 0 and all(scale > 1 for scale in calls)  # scaled gradients, unscaled by the scaler
