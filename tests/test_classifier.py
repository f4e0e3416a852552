"""Behaviour of ZeroMatchClassifier as a scikit-learn citizen and as a learner."""

import pickle

import joblib
import numpy as np
import pytest
import sklearn
import torch
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from zeromatch_sk import Defences, ZeroMatchClassifier
from zeromatch_sk._training import holdout_size
from zeromatch_sk.providers import TeacherError

FAST = dict(
    hidden_layer_sizes=(32,),
    kd_epochs=2,
    max_epochs=3,
    steps_per_epoch=10,
    batch_size=16,
    lr=1e-2,
    random_state=0,
)


@pytest.fixture(scope="module")
def data():
    """400 rows, 4 classes, 8 labeled per class; a teacher that is right 70 % of the time."""
    X, y_true = make_blobs(n_samples=400, centers=4, n_features=10, cluster_std=3.0, random_state=0)
    rng = np.random.default_rng(0)
    y = np.full_like(y_true, -1)
    for c in range(4):
        y[rng.choice(np.flatnonzero(y_true == c), 8, replace=False)] = c
    teacher = y_true.copy()
    wrong = rng.random(len(y_true)) < 0.3
    teacher[wrong] = rng.integers(0, 4, wrong.sum())
    return X, y, y_true, teacher


def fitted(X, y, **kwargs):
    params = {**FAST, **kwargs.pop("params", {})}
    return ZeroMatchClassifier(**params).fit(X, y, **kwargs)


# --------------------------------------------------------------------------- learning


def test_learns_from_labels_unlabeled_rows_and_teacher(data):
    X, y, y_true, teacher = data
    clf = ZeroMatchClassifier(hidden_layer_sizes=(64,), kd_epochs=10, max_epochs=10, random_state=0)
    clf.fit(X, y, pseudo_labels=teacher)
    unlabeled = y == -1
    teacher_acc = np.mean(teacher[unlabeled] == y_true[unlabeled])
    student_acc = clf.score(X[unlabeled], y_true[unlabeled])
    # The teacher is 70-80 % right; the student must clean up its noise using labels and clusters.
    assert student_acc > teacher_acc + 0.1
    assert student_acc > 0.9


def test_fitted_attributes_and_diagnostics(data):
    X, y, _y_true, teacher = data
    clf = fitted(X, y, pseudo_labels=teacher)
    labeled = y != -1
    assert clf.classes_.tolist() == [0, 1, 2, 3]
    assert clf.n_features_in_ == 10
    assert clf.n_labeled_ == labeled.sum()
    assert clf.transduction_.shape == (len(X),)
    np.testing.assert_array_equal(clf.transduction_, clf.predict(X))
    assert clf.teacher_accuracy_ == pytest.approx(np.mean(teacher[labeled] == y[labeled]))
    assert clf.teacher_agreement_ == pytest.approx(np.mean(clf.predict(X)[~labeled] == teacher[~labeled]))
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 4) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_history_records_both_stages_and_every_term(data):
    X, y, _, teacher = data
    clf = fitted(X, y, pseudo_labels=teacher)
    stages = clf.history_[:, "stage"]
    assert stages == [1] * 2 + [2] * 3
    for key in (
        "train_loss",
        "loss_sup",
        "loss_unsup",
        "loss_kd",
        "mask_ratio",
        "alpha",
        "threshold",
        "kd_agreement",
        "lr",
    ):
        assert len(clf.history_[:, key]) == 5, key
    stage2 = clf.history_[2:]
    assert all(0.0 <= row["mask_ratio"] <= 1.0 for row in stage2)
    alphas = [row["alpha"] for row in stage2]
    assert alphas == sorted(alphas) and 0 < alphas[-1] <= 1.0
    assert np.isnan(clf.history_[0, "loss_sup"])  # stage 1 never uses true labels
    assert 0.0 <= clf.history_[0, "kd_agreement"] <= 1.0


def test_stage1_holdout_size_follows_reference():
    assert holdout_size(9_000) == 0  # agreement scored on all rows
    assert holdout_size(10_000) == 2_000
    assert holdout_size(100_000) == 10_000


# ---------------------------------------------------------------- degenerate settings


def test_no_teacher_is_plain_adamatch(data):
    X, y, _, _ = data
    clf = fitted(X, y)
    assert clf.history_[:, "stage"] == [2, 2, 2]
    assert clf.net_.module_.aux_head is None
    assert all(np.isnan(v) for v in clf.history_[:, "loss_kd"])
    assert np.isnan(clf.teacher_accuracy_)


def test_stage2_budget_zero_is_kd_only(data):
    X, y, _, teacher = data
    clf = fitted(X, y, pseudo_labels=teacher, params=dict(max_epochs=0))
    assert set(clf.history_[:, "stage"]) == {1}


def test_stage1_budget_zero_skips_distillation_init(data):
    X, y, _, teacher = data
    clf = fitted(X, y, pseudo_labels=teacher, params=dict(kd_epochs=0))
    assert set(clf.history_[:, "stage"]) == {2}
    assert not all(np.isnan(v) for v in clf.history_[:, "loss_kd"])


def test_lambda_kd_zero_drops_aux_loss(data):
    X, y, _, teacher = data
    clf = fitted(X, y, pseudo_labels=teacher, params=dict(lambda_kd=0.0))
    assert clf.history_[:, "stage"][0] == 1
    assert all(np.isnan(row["loss_kd"]) for row in clf.history_ if row["stage"] == 2)


def test_aux_head_false_distils_into_main_head(data):
    X, y, _, teacher = data
    with_aux = fitted(X, y, pseudo_labels=teacher)
    without = fitted(X, y, pseudo_labels=teacher, params=dict(aux_head=False))
    assert with_aux.net_.module_.aux_head is not None
    assert without.net_.module_.aux_head is None
    assert not np.allclose(with_aux.predict_proba(X), without.predict_proba(X))


def test_constant_schedule_keeps_alpha_at_one(data):
    X, y, _, teacher = data
    clf = fitted(X, y, pseudo_labels=teacher, params=dict(kd_schedule="constant"))
    assert [row["alpha"] for row in clf.history_ if row["stage"] == 2] == [1.0] * 3


def test_supervised_baseline_by_parameters(data):
    X, y, _, _ = data
    clf = fitted(X, y, params=dict(lambda_u=0.0))
    assert all(np.isnan(v) for v in clf.history_[:, "loss_unsup"])
    assert clf.score(X[y != -1], y[y != -1]) > 0.8


def test_soft_targets_change_the_fit(data):
    X, y, _, teacher = data
    P = np.full((len(X), 4), 0.1)
    P[np.arange(len(X)), teacher] = 0.7
    hard = fitted(X, y, pseudo_labels=P)
    soft = fitted(X, y, pseudo_labels=P, params=dict(kd_target="soft"))
    assert not np.allclose(hard.predict_proba(X), soft.predict_proba(X))


# ------------------------------------------------------------------------ teachers


def test_provider_object_and_callable_are_called_with_classes(data):
    X, y, _, teacher = data
    calls = []

    def provider(X_, classes):
        calls.append((len(X_), list(classes)))
        return np.eye(len(classes))[teacher]

    clf = ZeroMatchClassifier(provider=provider, **FAST).fit(X, y)
    assert calls == [(len(X), [0, 1, 2, 3])]

    class Provider:
        def predict_proba(self, X_, classes):
            return provider(X_, classes)

    clf2 = ZeroMatchClassifier(provider=Provider(), **FAST).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), clf2.predict_proba(X))


def test_pseudo_labels_win_over_provider(data):
    X, y, _, teacher = data

    def broken(X_, classes):
        raise AssertionError("the provider must not be called when pseudo_labels are given")

    clf = ZeroMatchClassifier(provider=broken, **FAST).fit(X, y, pseudo_labels=teacher)
    assert clf.teacher_proba_.shape == (len(X), 4)


def test_pseudo_labels_as_labels_or_probabilities_agree(data):
    X, y, _, teacher = data
    a = fitted(X, y, pseudo_labels=teacher)
    b = fitted(X, y, pseudo_labels=np.eye(4)[teacher])
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X))


def test_classes_argument_adds_classes_only_the_teacher_knows(data):
    X, y, _y_true, teacher = data
    y_missing = np.where(y == 3, -1, y)  # no labeled row of class 3
    clf = fitted(X, y_missing, pseudo_labels=teacher, params=dict(classes=[0, 1, 2, 3], max_epochs=0))
    assert clf.classes_.tolist() == [0, 1, 2, 3]
    assert clf.predict_proba(X).shape[1] == 4
    assert 3 in set(clf.predict(X))  # learned from the teacher alone
    with pytest.raises(ValueError, match="not in classes="):
        fitted(X, y, pseudo_labels=teacher, params=dict(classes=[0, 1, 2]))


def test_no_labeled_rows_trains_from_teacher_alone(data):
    X, _, _y_true, teacher = data
    y = np.full(len(X), -1)
    with pytest.warns(UserWarning, match="teacher alone"):
        clf = fitted(X, y, pseudo_labels=teacher, params=dict(classes=[0, 1, 2, 3]))
    assert set(clf.history_[:, "stage"]) == {1}
    assert np.mean(clf.predict(X) == teacher) > 0.6


def test_fully_labeled_y_warns_and_fits(data):
    X, _, y_true, _ = data
    with pytest.warns(UserWarning, match="no unlabeled rows"):
        clf = fitted(X, y_true)
    assert clf.score(X, y_true) > 0.8


# ------------------------------------------------------------- scikit-learn citizenship


def test_clone_keeps_params_and_drops_fit(data):
    X, y, _, teacher = data
    clf = fitted(X, y, pseudo_labels=teacher)
    twin = clone(clf)
    assert twin.get_params() == {**clf.get_params()}
    assert not hasattr(twin, "net_")


def test_pipeline_with_scaler(data):
    X, y, y_true, teacher = data
    pipe = make_pipeline(StandardScaler(), ZeroMatchClassifier(**FAST))
    pipe.fit(X, y, zeromatchclassifier__pseudo_labels=teacher)
    assert pipe.score(X, y_true) > 0.8


def test_grid_search_routes_pseudo_labels_sliced_per_fold(data):
    X, _y, y_true, teacher = data
    seen = []

    class Recording(ZeroMatchClassifier):
        def fit(self, X, y, pseudo_labels=None):
            seen.append(len(pseudo_labels))
            assert len(pseudo_labels) == len(X)
            return super().fit(X, y, pseudo_labels=pseudo_labels)

    with sklearn.config_context(enable_metadata_routing=True):
        est = Recording(**FAST).set_fit_request(pseudo_labels=True)
        grid = GridSearchCV(
            est, {"lambda_kd": [0.0, 1.0], "kd_schedule": ["linear", "constant"]}, cv=KFold(2)
        )
        grid.fit(X, y_true, pseudo_labels=teacher)
    assert len(grid.cv_results_["params"]) == 4
    assert seen[:8] == [200] * 8 and seen[-1] == 400  # 4 candidates x 2 folds, then the refit


def test_cross_validate_and_pipeline_with_routing(data):
    X, _y, y_true, teacher = data
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline(
            [
                ("scale", StandardScaler()),
                ("zm", ZeroMatchClassifier(**FAST).set_fit_request(pseudo_labels=True)),
            ]
        )
        res = cross_validate(pipe, X, y_true, cv=KFold(2), params={"pseudo_labels": teacher})
    assert len(res["test_score"]) == 2 and min(res["test_score"]) > 0.7


def test_string_labels_match_integer_encoding(data):
    X, y, _, teacher = data
    names = np.array(["ant", "bee", "cat", "dog"], dtype=object)
    y_str = np.where(y == -1, -1, names[np.maximum(y, 0)]).astype(object)
    ints = fitted(X, y, pseudo_labels=teacher)
    strs = fitted(X, y_str, pseudo_labels=names[teacher])
    assert strs.classes_.tolist() == names.tolist()
    np.testing.assert_array_equal(strs.predict(X), names[ints.predict(X)])
    np.testing.assert_allclose(strs.predict_proba(X), ints.predict_proba(X))


def test_same_random_state_same_model_and_global_rng_untouched(data):
    X, y, _, teacher = data
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a = fitted(X, y, pseudo_labels=teacher)
    after = torch.rand(3)
    assert torch.equal(before, after)  # fit does not consume the user's torch RNG
    b = fitted(X, y, pseudo_labels=teacher)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = fitted(X, y, pseudo_labels=teacher, params=dict(random_state=1))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_pickle_and_joblib_round_trips(data, tmp_path):
    X, y, _, teacher = data
    clf = fitted(X, y, pseudo_labels=teacher)
    expected = clf.predict_proba(X)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), expected)
    joblib.dump(clf, tmp_path / "clf.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "clf.joblib").predict_proba(X), expected)


def test_refit_starts_from_scratch_no_warm_start(data):
    X, y, _, teacher = data
    assert "warm_start" not in ZeroMatchClassifier().get_params()
    clf = fitted(X, y, pseudo_labels=teacher)
    first = clf.predict_proba(X)
    clf.fit(X, y, pseudo_labels=teacher)
    np.testing.assert_array_equal(clf.predict_proba(X), first)


def test_dataframe_feature_names(data):
    pd = pytest.importorskip("pandas")
    X, y, _, teacher = data
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = fitted(df, y, pseudo_labels=teacher)
    assert clf.feature_names_in_.tolist() == list(df.columns)
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)


def test_user_encoder_module_instance_and_factory(data):
    X, y, _, teacher = data
    encoder = torch.nn.Sequential(torch.nn.Linear(10, 24), torch.nn.ReLU())
    clf = fitted(X, y, pseudo_labels=teacher, params=dict(module=encoder))
    assert clf.net_.module_.head.in_features == 24
    assert clf.net_.module_.encoder is not encoder  # the user's module is copied, never trained in place
    clf2 = fitted(X, y, pseudo_labels=teacher, params=dict(module=lambda d: torch.nn.Linear(d, 7)))
    assert clf2.net_.module_.head.in_features == 7


def test_skorch_callbacks_see_both_stages(data):
    X, y, _, teacher = data
    stages = []

    class Spy(Callback):
        def on_epoch_end(self, net, **kwargs):
            stages.append(net.history[-1, "stage"])

    fitted(X, y, pseudo_labels=teacher, params=dict(callbacks=[Spy()]))
    assert stages == [1, 1, 2, 2, 2]


def test_verbose_prints_epoch_table(data, capsys):
    X, y, _, teacher = data
    fitted(X, y, pseudo_labels=teacher, params=dict(verbose=1))
    out = capsys.readouterr().out
    assert "mask_ratio" in out and "kd_agreement" in out and len(out.splitlines()) >= 7


# ---------------------------------------------------------------- bad input, clear errors


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.nan, "NaN"),
        (np.inf, "infinity"),
    ],
)
def test_non_finite_X(data, bad, match):
    X, y, _, _ = data
    X = X.copy()
    X[3, 2] = bad
    with pytest.raises(ValueError, match=match):
        ZeroMatchClassifier(**FAST).fit(X, y)


def test_length_mismatch_and_1d_X(data):
    X, y, _, _ = data
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        ZeroMatchClassifier(**FAST).fit(X, y[:-1])
    with pytest.raises(ValueError, match="Reshape your data"):
        ZeroMatchClassifier(**FAST).fit(X[:, 0], y)


def test_one_class_without_teacher(data):
    X, y, _, _ = data
    y_one = np.where(y == -1, -1, 0)
    with pytest.raises(ValueError, match="at least 2 classes"):
        ZeroMatchClassifier(**FAST).fit(X, y_one)


def test_no_labels_no_teacher(data):
    X, _, _, _ = data
    with pytest.raises(ValueError, match="no labeled rows.*no teacher"):
        ZeroMatchClassifier(**FAST).fit(X, np.full(len(X), -1))


def test_str_dtype_labels_are_refused_with_the_fix(data):
    X, _y, _, _ = data
    y_str = np.array(["a", "b"] * (len(X) // 2))
    with pytest.raises(ValueError, match="object array"):
        ZeroMatchClassifier(**FAST).fit(X, y_str)


@pytest.mark.parametrize(
    "make_output, match",
    [
        (lambda n, k: np.full((n, k + 1), 1 / (k + 1)), "shape"),
        (lambda n, k: np.full((n - 1, k), 1 / k), "shape"),
        (lambda n, k: np.tile([[-0.5, 1.5] + [0.0] * (k - 2)], (n, 1)), "negative"),
        (lambda n, k: np.full((n, k), 0.5), "do not sum to 1"),
        (lambda n, k: np.full((n, k), np.nan), "NaN"),
    ],
    ids=["wrong-columns", "wrong-rows", "negative", "not-normalised", "nan"],
)
def test_bad_provider_output(data, make_output, match):
    X, y, _, _ = data

    def provider(X_, classes):
        return make_output(len(X_), len(classes))

    with pytest.raises(TeacherError, match=match):
        ZeroMatchClassifier(provider=provider, **FAST).fit(X, y)


def test_provider_failure_propagates_with_its_message(data):
    X, y, _, _ = data

    def provider(X_, classes):
        raise ConnectionError("inference service unreachable")

    with pytest.raises(ConnectionError, match="unreachable"):
        ZeroMatchClassifier(provider=provider, **FAST).fit(X, y)


def test_provider_without_predict_proba(data):
    X, y, _, _ = data
    with pytest.raises(TypeError, match="predict_proba"):
        ZeroMatchClassifier(provider="clip", **FAST).fit(X, y)


def test_pseudo_labels_outside_classes(data):
    X, y, _, teacher = data
    with pytest.raises(TeacherError, match="outside classes_"):
        ZeroMatchClassifier(**FAST).fit(X, y, pseudo_labels=np.where(teacher == 0, 9, teacher))
    with pytest.raises(TeacherError, match="one teacher label"):
        ZeroMatchClassifier(**FAST).fit(X, y, pseudo_labels=teacher[:-1])


def test_bad_parameters_are_caught_in_fit_not_init(data):
    X, y, _, _ = data
    clf = ZeroMatchClassifier(p_cutoff=2.0)  # __init__ stores anything; fit validates
    assert clf.p_cutoff == 2.0
    with pytest.raises(ValueError, match="p_cutoff"):
        clf.fit(X, y)
    with pytest.raises(ValueError, match="kd_schedule"):
        ZeroMatchClassifier(kd_schedule="cosine").fit(X, y)
    with pytest.raises(ValueError, match="weak_augment='blur'"):
        ZeroMatchClassifier(weak_augment="blur", **FAST).fit(X, y)


def test_nothing_to_train(data):
    X, y, _, _ = data
    with pytest.raises(ValueError, match="Nothing to train"):
        ZeroMatchClassifier(**{**FAST, "max_epochs": 0}).fit(X, y)


def test_alignment_target_prior_fixes_the_alignment_target(data):
    X, y, _, teacher = data
    clf = fitted(
        X, y, pseudo_labels=teacher, params=dict(defences=Defences(alignment_target=[0.7, 0.1, 0.1, 0.1]))
    )
    np.testing.assert_allclose(clf.net_.p_target_.numpy(), [0.7, 0.1, 0.1, 0.1], rtol=1e-6)
    default = fitted(X, y, pseudo_labels=teacher)
    assert not np.allclose(default.net_.p_target_.numpy(), [0.7, 0.1, 0.1, 0.1], atol=0.05)
    with pytest.raises(ValueError, match="one positive entry per class"):
        fitted(X, y, params=dict(defences=Defences(alignment_target=[0.5, 0.5])))
