"""Feature-space views: what each one does to a batch, and how bad settings are reported."""

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

from zeromatch_sk import ZeroMatchClassifier
from zeromatch_sk.augment import GaussianNoise, Identity, Scarf, choose_views, resolve_augmentation


def _batch(n_major=90, n_minor=10, d=400):
    """Majority rows are all 0, minority rows all 1: the value of a feature names the donor's class."""
    X = torch.cat([torch.zeros(n_major, d), torch.ones(n_minor, d)])
    labels = torch.cat([torch.zeros(n_major, dtype=torch.long), torch.ones(n_minor, dtype=torch.long)])
    return X, labels


def _view(donors):
    return Scarf(rate=1.0, noise=0.0, renormalize=False, donors=donors)


def test_batch_donors_follow_the_batch_and_balanced_donors_each_class_equally():
    X, labels = _batch()
    gen = torch.Generator().manual_seed(0)
    # rate=1: every value comes from a donor, so the mean value is the share of minority donors.
    batch_share = _view("batch")(X, gen, labels=labels).mean().item()
    balanced_share = _view("balanced")(X, gen, labels=labels).mean().item()
    assert batch_share == pytest.approx(0.10, abs=0.01)
    assert balanced_share == pytest.approx(0.50, abs=0.01)
    # Without labels the balanced view cannot know the classes: it falls back to the batch.
    assert _view("balanced")(X, gen).mean().item() == pytest.approx(0.10, abs=0.01)


def test_class_donors_stay_within_the_rows_class():
    X, labels = _batch()
    out = _view("class")(X, torch.Generator().manual_seed(0), labels=labels)
    assert torch.equal(out, X)  # every donor has the row's own class, so nothing changes


def test_views_are_reproducible_and_only_labelled_views_ask_for_labels():
    X = np.random.default_rng(0).normal(size=(50, 6))
    xb = torch.as_tensor(X, dtype=torch.float32)
    for view in (GaussianNoise(scale=0.1).fit(X), Scarf().fit(X)):
        a = view(xb, torch.Generator().manual_seed(3))
        b = view(xb, torch.Generator().manual_seed(3))
        assert torch.equal(a, b) and not torch.equal(a, xb)
    assert (
        Scarf(donors="balanced").uses_labels and Scarf(donors="class").uses_labels and not Scarf().uses_labels
    )
    assert not getattr(GaussianNoise(), "uses_labels", False) and not getattr(
        Identity(), "uses_labels", False
    )


@pytest.mark.parametrize(
    "spec, match",
    [
        (Scarf(donors="nearest"), r"donors must be one of \('batch', 'balanced', 'class'\)"),
        (Scarf(rate=1.5), "rate is a fraction"),
        (GaussianNoise(scale=-1), "non-negative"),
        ("auto", "not a known augmentation"),
    ],
)
def test_bad_views_name_the_problem(spec, match):
    with pytest.raises(ValueError, match=match):
        resolve_augmentation(spec, np.eye(3), param="strong_augment")


@pytest.mark.parametrize(
    "view, param",
    [
        (GaussianNoise(scale=-0.1), "scale"),
        (GaussianNoise(scale=np.inf), "scale"),
        (GaussianNoise(scale="big"), "scale"),
        (GaussianNoise(renormalize="x"), "renormalize"),
        (GaussianNoise(renormalize=1), "renormalize"),
        (Scarf(rate=1.5), "rate"),
        (Scarf(rate=-0.1), "rate"),
        (Scarf(rate=np.nan), "rate"),
        (Scarf(noise=-1.0), "noise"),
        (Scarf(noise=np.nan), "noise"),
        (Scarf(renormalize="yes"), "renormalize"),
        (Scarf(donors="nearest"), "donors"),
    ],
)
def test_fit_refuses_bad_parameters(view, param):
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter of {type(view).__name__}"):
        view.fit(np.eye(3))
    assert not hasattr(view, "scale_")  # refused before any work


@pytest.mark.parametrize(
    "view, renormalized",
    [
        (GaussianNoise(scale=0, renormalize=np.bool_(True)), True),
        (GaussianNoise(scale=np.float32(0.5), renormalize=False), False),
        (Scarf(rate=0, noise=0, donors="class"), False),  # 'auto': these rows are not unit-norm
        (Scarf(rate=1, donors="balanced", renormalize=True), True),
    ],
)
def test_fit_takes_edge_values(view, renormalized):
    view.fit(np.random.default_rng(0).normal(size=(10, 3)))
    assert view.scale_.shape == (3,) and view.renormalize_ is renormalized


class _RecordingView:
    """A strong view that asks for pseudo-labels and keeps what the training loop passed."""

    uses_labels = True

    def __init__(self):
        self.seen = []

    def __call__(self, X, generator, labels=None):
        self.seen.append(None if labels is None else (len(X), labels.clone()))
        return X


def test_training_loop_passes_pseudo_labels_to_views_that_ask():
    from sklearn.datasets import make_blobs

    from zeromatch_sk import ZeroMatchClassifier

    X, y_true = make_blobs(n_samples=200, centers=3, random_state=0)
    y = np.full_like(y_true, -1)
    y[:30] = y_true[:30]
    view = _RecordingView()
    ZeroMatchClassifier(
        strong_augment=view, hidden_layer_sizes=(16,), kd_epochs=0, max_epochs=1, steps_per_epoch=5,
        batch_size=8, uratio=2, random_state=0,
    ).fit(X, y)  # fmt: skip
    assert len(view.seen) == 5 and None not in view.seen  # once per step, always with labels
    for n, labels in view.seen:
        assert n == 16 and labels.shape == (16,) and labels.dtype == torch.long and labels.max() < 3


@pytest.mark.parametrize(
    "hint, n_features, expected",
    [
        ("auto-tabular", 384, (GaussianNoise(scale=0.1), GaussianNoise(scale=0.3))),
        ("auto-embeddings", 13, (GaussianNoise(), Scarf())),
        ("auto", 13, (GaussianNoise(scale=0.1), GaussianNoise(scale=0.3))),
    ],
)
def test_a_hint_overrides_what_the_width_says(hint, n_features, expected):
    chosen = choose_views(hint, hint, n_features, skewed=False)
    assert [repr(v) for v in chosen] == [repr(v) for v in expected]


def test_the_classifier_records_the_hinted_views():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 200)).astype(np.float32)  # 200 one-hot-like columns read as a table
    y = np.full(60, -1)
    y[:6] = [0, 0, 0, 1, 1, 1]
    clf = ZeroMatchClassifier(
        weak_augment="auto-tabular",
        strong_augment="auto-tabular",
        kd_epochs=0,
        max_epochs=1,
        steps_per_epoch=2,
        random_state=0,
        verbose=0,
    ).fit(X, y)
    assert repr(clf.weak_augment_) == "GaussianNoise(scale=0.1)"
    assert repr(clf.strong_augment_) == "GaussianNoise(scale=0.3)"
