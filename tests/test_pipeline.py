"""Tests for zeromatch_sk.pipeline: a teacher that sees the raw input, routed to the classifier."""

import pickle

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import clone
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.pipeline import make_pipeline as sk_make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from zeromatch_sk import ZeroMatchClassifier
from zeromatch_sk.model_selection import SemiSupervisedKFold, labeled_scorer
from zeromatch_sk.pipeline import TeacherPipeline, clear_teacher_cache, make_pipeline
from zeromatch_sk.providers import BaseProvider

TINY = dict(hidden_layer_sizes=(8,), kd_epochs=2, max_epochs=3, random_state=0)
N = 120


@pytest.fixture(autouse=True)
def _one_thread_and_fresh_cache():
    """Tiny fits: one BLAS thread; and no teacher answers carried over from another test."""
    clear_teacher_cache()
    with threadpool_limits(limits=1):
        yield
    clear_teacher_cache()


@pytest.fixture(params=[False, True], ids=["no-routing", "routing"])
def routing_mode(request):
    """Run a test with metadata routing off and on; the previous setting always comes back."""
    with sklearn.config_context(enable_metadata_routing=request.param):
        yield request.param


def _frame(seed=0):
    """A DataFrame whose class is set by a raw column's value (which scaling would hide from a rule)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"size": rng.uniform(0, 300, N), "noise": rng.normal(size=N)})
    y_true = np.digitize(X["size"], [100, 200])
    y = np.full(N, -1)
    for c in range(3):
        y[np.flatnonzero(y_true == c)[:4]] = c
    return X, y, y_true


def size_rule(X, classes):
    """A rule by column name, on raw values: a DataFrame teacher (module level so it pickles)."""
    band = np.minimum(np.digitize(X["size"].to_numpy(), [100, 200]), len(classes) - 1)
    return np.where(np.arange(len(classes)) == band[:, None], 0.8, 0.2 / (len(classes) - 1))


class CountingRule(BaseProvider):
    """The size rule, recording every row it is asked about (by its ``noise`` value, unique per row).

    ``asked`` is a class attribute, so the clones a search makes count into it too.
    """

    asked = []

    def predict_proba(self, X, classes):
        CountingRule.asked.extend(X["noise"].tolist())
        return size_rule(X, classes)


class TempRule(BaseProvider):
    """An estimator provider with a parameter, for grids and the cache key."""

    def __init__(self, sharpness=0.8):
        self.sharpness = sharpness

    def predict_proba(self, X, classes):
        band = np.minimum(np.digitize(X["size"].to_numpy(), [100, 200]), len(classes) - 1)
        off = (1 - self.sharpness) / (len(classes) - 1)
        return np.where(np.arange(len(classes)) == band[:, None], self.sharpness, off)


class Recording(ZeroMatchClassifier):
    """Records what reaches the classifier: features and pseudo-labels."""

    seen = []

    def fit(self, X, y, pseudo_labels=None):
        Recording.seen.append((np.asarray(X), None if pseudo_labels is None else np.asarray(pseudo_labels)))
        return super().fit(X, y, pseudo_labels=pseudo_labels)


# --------------------------------------------------------------------------- raw input, routed


def test_provider_sees_raw_dataframe_and_classifier_gets_its_answer(routing_mode):
    X, y, _ = _frame()
    received = []

    def rule(X_in, classes):
        received.append((X_in, np.asarray(classes)))
        return size_rule(X_in, classes)

    Recording.seen.clear()
    model = make_pipeline(StandardScaler(), Recording(**TINY), provider=rule).fit(X, y)
    X_in, classes = received[0]
    assert isinstance(X_in, pd.DataFrame) and list(X_in.columns) == ["size", "noise"]
    np.testing.assert_array_equal(X_in.to_numpy(), X.to_numpy())  # raw, not scaled
    np.testing.assert_array_equal(classes, [0, 1, 2])
    Xt, P = Recording.seen[-1]
    np.testing.assert_allclose(Xt.mean(axis=0), 0, atol=1e-6)  # the classifier sees scaled features
    np.testing.assert_allclose(P, size_rule(X, classes))
    np.testing.assert_allclose(model.teacher_proba_, P)
    assert model.n_teacher_calls_ == N


def test_classifier_routing_request_is_left_as_it_was(routing_mode):
    X, y, _ = _frame()
    clf = ZeroMatchClassifier(**TINY)
    if routing_mode:
        clf.set_fit_request(pseudo_labels=False)
    make_pipeline(StandardScaler(), clf, provider=size_rule).fit(X, y)
    if routing_mode:
        assert clf.get_metadata_routing().fit.requests["pseudo_labels"] is False


def test_classes_come_from_the_classifier_when_declared():
    X, y, _ = _frame()
    y = np.where(y == 2, -1, y)  # no labeled row of class 2
    seen = []

    def rule(X_in, classes):
        seen.append(list(classes))
        return size_rule(X_in, classes)

    make_pipeline(StandardScaler(), ZeroMatchClassifier(classes=[0, 1, 2], **TINY), provider=rule).fit(X, y)
    assert seen == [[0, 1, 2]]
    make_pipeline(StandardScaler(), ZeroMatchClassifier(**TINY), provider=rule).fit(X, y)
    assert seen[-1] == [0, 1]


def test_text_teacher_sees_texts_and_classifier_sees_features():
    rng = np.random.default_rng(0)
    words = {0: ["goal", "match", "team"], 1: ["stock", "bank", "market"]}
    y_true = rng.integers(0, 2, 80)
    texts = [" ".join(rng.choice(words[c], 3)) + f" item{i}" for i, c in enumerate(y_true)]
    y = np.full(80, -1)
    y[:10] = y_true[:10]

    def keyword_teacher(X_in, classes):
        assert isinstance(X_in, list) and all(isinstance(t, str) for t in X_in)
        sport = np.array([any(w in t for w in words[0]) for t in X_in])
        return np.where(sport[:, None], [0.9, 0.1], [0.1, 0.9])

    model = make_pipeline(
        TfidfVectorizer(),
        TruncatedSVD(5, random_state=0),
        ZeroMatchClassifier(**TINY),
        provider=keyword_teacher,
    ).fit(texts, y)
    assert model.predict(texts).shape == (80,)
    assert model.n_teacher_calls_ == 80


def test_without_provider_it_is_a_plain_pipeline():
    X, y, _ = _frame()
    P = size_rule(X, [0, 1, 2])
    ours = make_pipeline(StandardScaler(), ZeroMatchClassifier(**TINY)).fit(
        X, y, zeromatchclassifier__pseudo_labels=P
    )
    theirs = sk_make_pipeline(StandardScaler(), ZeroMatchClassifier(**TINY)).fit(
        X, y, zeromatchclassifier__pseudo_labels=P
    )
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X))
    assert not hasattr(ours, "teacher_proba_")


def test_same_fit_as_passing_pseudo_labels_by_hand():
    X, y, _ = _frame()
    ours = make_pipeline(StandardScaler(), ZeroMatchClassifier(**TINY), provider=size_rule).fit(X, y)
    by_hand = sk_make_pipeline(StandardScaler(), ZeroMatchClassifier(**TINY)).fit(
        X, y, zeromatchclassifier__pseudo_labels=size_rule(X, [0, 1, 2])
    )
    np.testing.assert_allclose(ours.predict_proba(X), by_hand.predict_proba(X))


# --------------------------------------------------------------------------- search, cache, clone, pickle


def test_grid_search_asks_each_row_once(routing_mode):
    X, y, _ = _frame()
    asked = CountingRule.asked
    asked.clear()
    model = make_pipeline(StandardScaler(), ZeroMatchClassifier(**TINY), provider=CountingRule())
    grid = GridSearchCV(
        model,
        {"zeromatchclassifier__lambda_kd": [0.5, 1.0]},
        cv=SemiSupervisedKFold(3, shuffle=True, random_state=0),
        scoring=labeled_scorer(),
    )
    grid.fit(X, y)  # 2 candidates x 3 folds + the refit: 7 fits
    assert len(grid.cv_results_["params"]) == 2
    assert sorted(asked) == sorted(X["noise"].tolist())  # every row, once
    assert grid.best_estimator_.n_teacher_calls_ == 0  # the refit found every answer cached


def test_cross_validate_calls_provider_on_each_folds_rows(routing_mode):
    X, y, _ = _frame()
    batches = []

    def rule(X_in, classes):
        batches.append(set(X_in.index))
        return size_rule(X_in, classes)

    cv = SemiSupervisedKFold(3, shuffle=True, random_state=0)
    model = make_pipeline(StandardScaler(), ZeroMatchClassifier(**TINY), provider=rule)
    res = cross_validate(model, X, y, cv=cv, scoring=labeled_scorer(), return_estimator=True)
    assert len(res["test_score"]) == 3
    train_sets = [set(X.index[train]) for train, _ in cv.split(X, y)]
    asked_so_far = set()
    for train, batch in zip(train_sets, batches):
        assert batch == train - asked_so_far  # a fold's rows, less those already answered
        asked_so_far |= batch
    assert asked_so_far == set(X.index)
    for est, train in zip(res["estimator"], train_sets):
        assert len(est.teacher_proba_) == len(train)


def test_cache_keys_on_provider_params_and_classes():
    X, y, _ = _frame()
    a = make_pipeline(StandardScaler(), ZeroMatchClassifier(**TINY), provider=TempRule(0.8)).fit(X, y)
    assert a.n_teacher_calls_ == N
    assert clone(a).fit(X, y).n_teacher_calls_ == 0  # a clone: same params, answers cached
    b = clone(a).set_params(provider__sharpness=0.6).fit(X, y)
    assert b.n_teacher_calls_ == N  # other params: asked again
    np.testing.assert_allclose(b.teacher_proba_.max(axis=1), 0.6)
    y2 = np.where(y == 2, -1, y)
    assert clone(a).fit(X, y2).n_teacher_calls_ == N  # other classes: asked again


def test_duplicate_rows_are_asked_once():
    X, y, _ = _frame()
    X2 = pd.concat([X, X.iloc[:10]], ignore_index=True)
    y2 = np.concatenate([y, np.full(10, -1)])
    model = make_pipeline(StandardScaler(), ZeroMatchClassifier(**TINY), provider=size_rule).fit(X2, y2)
    assert model.n_teacher_calls_ == N
    np.testing.assert_allclose(model.teacher_proba_[N:], model.teacher_proba_[:10])


def test_array_and_list_inputs_are_cached():
    X, y, _ = _frame()
    calls = []

    def rule(X_in, classes):
        calls.append(len(X_in))
        return size_rule(pd.DataFrame(np.asarray(X_in, dtype=float), columns=["size", "noise"]), classes)

    for X_in in (X.to_numpy(), [row for row in X.to_numpy()]):
        model = make_pipeline(StandardScaler(), ZeroMatchClassifier(**TINY), provider=rule)
        model.fit(X_in, y)
        clone(model).fit(X_in, y)
    assert calls == [N, N]  # once per input kind (keys differ), never for the clone


def test_grid_over_provider_params():
    X, y, _ = _frame()
    model = make_pipeline(StandardScaler(), ZeroMatchClassifier(**TINY), provider=TempRule())
    assert "provider__sharpness" in model.get_params()
    grid = GridSearchCV(
        model, {"provider__sharpness": [0.6, 0.9]}, cv=SemiSupervisedKFold(2), scoring=labeled_scorer()
    )
    grid.fit(X, y)
    assert grid.best_estimator_.provider.sharpness in (0.6, 0.9)


def test_clone_and_pickle():
    X, y, _ = _frame()
    model = make_pipeline(StandardScaler(), ZeroMatchClassifier(**TINY), provider=TempRule(0.7))
    twin = clone(model)
    assert isinstance(twin, TeacherPipeline) and twin.provider.sharpness == 0.7
    assert twin.provider is not model.provider
    model.fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(restored.predict_proba(X), model.predict_proba(X))
    refit = pickle.loads(
        pickle.dumps(make_pipeline(StandardScaler(), ZeroMatchClassifier(**TINY), provider=size_rule))
    )
    assert refit.fit(X, y).provider is size_rule


def test_predict_never_calls_the_teacher():
    X, y, _ = _frame()
    asked = CountingRule.asked
    model = make_pipeline(StandardScaler(), ZeroMatchClassifier(**TINY), provider=CountingRule()).fit(X, y)
    n = len(asked)
    model.predict(X), model.predict_proba(X), model.score(X, y)
    assert len(asked) == n


# --------------------------------------------------------------------------- errors


def test_last_step_must_be_zeromatch():
    X, y, _ = _frame()
    with pytest.raises(TypeError, match="last step .* must be a ZeroMatchClassifier.*drop provider="):
        make_pipeline(StandardScaler(), LogisticRegression(), provider=size_rule).fit(X, y)


def test_classifier_with_its_own_provider_is_refused():
    X, y, _ = _frame()
    model = make_pipeline(
        StandardScaler(), ZeroMatchClassifier(provider=size_rule, **TINY), provider=size_rule
    )
    with pytest.raises(ValueError, match="Both the pipeline and its ZeroMatchClassifier .* keep one"):
        model.fit(X, y)


def test_pseudo_labels_and_provider_together_are_refused(routing_mode):
    X, y, _ = _frame()
    P = size_rule(X, [0, 1, 2])
    clf = ZeroMatchClassifier(**TINY)
    if routing_mode:
        clf.set_fit_request(pseudo_labels=True)
    key = "pseudo_labels" if routing_mode else "zeromatchclassifier__pseudo_labels"
    with pytest.raises(ValueError, match=f"fit got {key}= and the pipeline has a provider.*drop provider="):
        make_pipeline(StandardScaler(), clf, provider=size_rule).fit(X, y, **{key: P})


def test_bad_teacher_output_names_the_provider():
    X, y, _ = _frame()

    def logits(X_in, classes):
        return np.zeros((len(X_in), len(classes))) - 1.0

    with pytest.raises(ValueError, match="provider logits returned negative values"):
        make_pipeline(StandardScaler(), ZeroMatchClassifier(**TINY), provider=logits).fit(X, y)


# --------------------------------------------------------------------------- the sklearn Pipeline spellings


def test_step_prefixed_pseudo_labels_without_routing():
    X, y, _ = _frame()
    P = size_rule(X, [0, 1, 2])
    assert not sklearn.get_config()["enable_metadata_routing"]
    pipe = Pipeline([("scale", StandardScaler()), ("zm", Recording(**TINY))])
    Recording.seen.clear()
    pipe.fit(X, y, zm__pseudo_labels=P)
    np.testing.assert_allclose(Recording.seen[-1][1], P)


def test_routing_needs_set_fit_request_and_the_plain_name():
    X, y, _ = _frame()
    P = size_rule(X, [0, 1, 2])
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(TypeError, match="unexpected argument"):
            sk_make_pipeline(StandardScaler(), ZeroMatchClassifier(**TINY)).fit(
                X, y, zeromatchclassifier__pseudo_labels=P
            )
        Recording.seen.clear()
        pipe = Pipeline(
            [("scale", StandardScaler()), ("zm", Recording(**TINY).set_fit_request(pseudo_labels=True))]
        )
        pipe.fit(X, y, pseudo_labels=P)
        np.testing.assert_allclose(Recording.seen[-1][1], P)
    assert not sklearn.get_config()["enable_metadata_routing"]


def test_provider_without_a_safe_key_is_asked_every_time():
    import threading

    X, y, _ = _frame()

    class Locked:
        """State that cannot be hashed (a lock): no cache key, so no caching."""

        def __init__(self):
            self.lock = threading.Lock()

        def __deepcopy__(self, memo):
            return self

        def predict_proba(self, X_in, classes):
            return size_rule(X_in, classes)

    model = make_pipeline(StandardScaler(), ZeroMatchClassifier(**TINY), provider=Locked())
    assert model.fit(X, y).n_teacher_calls_ == N
    assert model.fit(X, y).n_teacher_calls_ == N
