"""SentenceEmbedder and ClipEmbedder as scikit-learn transformers: batching, caching, progress, errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from zeromatch_sk._foundation._params import resolve_device
from zeromatch_sk._foundation._registry import clear_caches
from zeromatch_sk.embedders import ClipEmbedder, SentenceEmbedder
from zeromatch_sk.providers import ClipProvider

TEXTS = ["A cat sat on the mat.", "Stocks fell sharply.", "The team won the final."]


@pytest.fixture
def clip_embedder(tiny_clip):
    return ClipEmbedder(model=tiny_clip.model, pretrained=tiny_clip.pretrained, verbose=0)


@pytest.fixture
def count_encoded(monkeypatch):
    """Count the images and prompts that actually go through the tiny CLIP model."""
    pytest.importorskip("open_clip")
    from zeromatch_sk._foundation._clip import ClipBackend

    counts = {"images": 0, "image_batches": 0, "prompts": 0}
    encode_images, encode_texts = ClipBackend._encode_images, ClipBackend._encode_texts

    def images(self, items):
        counts["images"] += len(items)
        counts["image_batches"] += 1
        return encode_images(self, items)

    def texts(self, prompts):
        counts["prompts"] += len(prompts)
        return encode_texts(self, prompts)

    monkeypatch.setattr(ClipBackend, "_encode_images", images)
    monkeypatch.setattr(ClipBackend, "_encode_texts", texts)
    clear_caches()
    return counts


def test_nothing_loads_before_use():
    embedder = SentenceEmbedder(model="/no/such/model")  # checked when used, not here
    assert clone(embedder).get_params()["model"] == "/no/such/model"
    assert ClipEmbedder().get_params()["pretrained"] == "laion2b_s34b_b79k"


def test_transformer_api(clip_embedder, tiny_clip, generated_images):
    images = generated_images.images[:5]
    E = clip_embedder.transform(images)  # stateless: works before fit
    assert E.dtype == np.float32 and E.shape == (5, tiny_clip.embed_dim)
    assert clip_embedder.fit(images) is clip_embedder
    assert clip_embedder.embedding_dim_ == tiny_clip.embed_dim
    np.testing.assert_array_equal(clip_embedder.fit_transform(images), E)
    names = clip_embedder.get_feature_names_out()
    assert names[0] == "clipembedder0" and len(names) == tiny_clip.embed_dim
    assert len(pickle.dumps(clip_embedder)) < 5_000
    assert clip_embedder.__sklearn_tags__().requires_fit is False


def test_batches_and_caches_in_memory_across_clones(clip_embedder, generated_images, count_encoded):
    images = generated_images.images[:12]
    E = clip_embedder.set_params(batch_size=5).transform(images)
    assert count_encoded == {"images": 12, "image_batches": 3, "prompts": 0}
    np.testing.assert_array_equal(
        clone(clip_embedder).set_params(batch_size=32).transform(images[::-1]), E[::-1]
    )
    assert count_encoded["images"] == 12  # nothing encoded twice
    duplicated = images[:2] + images[:2]
    clear_caches()
    clip_embedder.transform(duplicated)
    assert count_encoded["images"] == 14  # equal content is encoded once


def test_grid_search_embeds_each_row_once(tiny_clip, generated_images, count_encoded):
    pipe = make_pipeline(
        ClipEmbedder(model=tiny_clip.model, pretrained=tiny_clip.pretrained, verbose=0), LogisticRegression()
    )
    search = GridSearchCV(pipe, {"logisticregression__C": [0.1, 1.0, 10.0]}, cv=3)
    search.fit(generated_images.images, generated_images.labels)
    assert count_encoded["images"] == len(generated_images.images)

    provider = ClipProvider(model=tiny_clip.model, pretrained=tiny_clip.pretrained, verbose=0)
    E = search.best_estimator_[0].transform(generated_images.images)
    for _ in range(3):
        clone(provider).predict_proba(E, np.array(["red", "green", "blue"], dtype=object))
    assert count_encoded["prompts"] == 3  # one prompt per class, embedded once


def test_progress_bar(clip_embedder, generated_images, capsys, count_encoded):
    clip_embedder.set_params(verbose=0).transform(generated_images.images[:4])
    assert capsys.readouterr().err == ""
    clear_caches()
    clip_embedder.set_params(verbose=2).transform(generated_images.images[:4])
    err = capsys.readouterr().err
    assert "embedding images" in err and "4/4" in err


def test_memory_accepts_a_path(clip_embedder, generated_images, tmp_path, count_encoded):
    images = generated_images.images[:3]
    E = clip_embedder.set_params(memory=str(tmp_path)).transform(images)
    clear_caches()  # as in a new process: only the disk cache is left
    np.testing.assert_array_equal(clone(clip_embedder).transform(images), E)
    np.testing.assert_array_equal(clone(clip_embedder).transform(images[1:]), E[1:])  # a fold of it
    assert count_encoded["images"] == 3
    with pytest.raises(InvalidParameterError, match="'memory' parameter of ClipEmbedder"):
        clip_embedder.set_params(memory=1).transform(images)


class _NoBackend(AssertionError):
    """Raised instead of building a backend, that is before any model could load."""


@pytest.fixture
def no_backend(monkeypatch):
    def refuse(self):
        raise _NoBackend(f"{type(self).__name__} started work")

    for cls in (SentenceEmbedder, ClipEmbedder):
        monkeypatch.setattr(cls, "_backend", refuse)


@pytest.mark.parametrize("cls", [SentenceEmbedder, ClipEmbedder])
@pytest.mark.parametrize(
    "param, value",
    [
        ("verbose", "x"),
        ("verbose", -1),
        ("normalize", "x"),
        ("normalize", 1),
        ("batch_size", 0),
        ("batch_size", 2.5),
        ("device", 1.5),
        ("memory", 1),
        ("model", 3),
    ],
)
@pytest.mark.parametrize("method", ["fit", "fit_transform", "transform"])
def test_bad_parameters_are_refused_before_any_model_loads(no_backend, cls, param, value, method):
    embedder = cls(**{param: value})
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter of {cls.__name__}"):
        getattr(embedder, method)(["a cat"])


@pytest.mark.parametrize("value", [3, ["weights.pt"]])
def test_clip_embedder_refuses_a_pretrained_that_is_no_tag_or_path(no_backend, value):
    with pytest.raises(InvalidParameterError, match="'pretrained' parameter of ClipEmbedder"):
        ClipEmbedder(pretrained=value).fit(["cat.jpg"])


@pytest.mark.parametrize("cls", [SentenceEmbedder, ClipEmbedder])
@pytest.mark.parametrize(
    "params",
    [
        {"verbose": True, "normalize": np.bool_(False), "batch_size": np.int64(3)},
        {"device": torch.device("cpu")},
        {"device": None},
        {"memory": Path("cache")},
        {"memory": joblib.Memory(None, verbose=0)},
        {"model": Path("my-model")},
    ],
)
def test_odd_but_valid_parameters_reach_the_model(no_backend, cls, params):
    if cls is ClipEmbedder and "model" in params:
        params = {"pretrained": params["model"]}  # a CLIP checkpoint path; its model is a name
    with pytest.raises(_NoBackend):  # validation passed: the embedder went on to build its backend
        cls(**params).fit(["a cat"])


def test_device_auto():
    assert resolve_device("auto") in {"cpu", "cuda", "mps"}
    with pytest.raises(ValueError, match="torch device"):
        resolve_device("gpu-please")


@pytest.mark.slow
def test_sentence_embedder_inputs(minilm_path):
    pd = pytest.importorskip("pandas")
    embedder = SentenceEmbedder(model=minilm_path, batch_size=2, verbose=0)
    E = embedder.fit_transform(TEXTS)
    assert E.shape == (3, 384) and E.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(E, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(embedder.transform(pd.Series(TEXTS)), E)
    np.testing.assert_array_equal(embedder.transform(pd.DataFrame({"text": TEXTS})), E)
    np.testing.assert_array_equal(embedder.transform(np.array(TEXTS)[:, None]), E)


@pytest.mark.slow
@pytest.mark.parametrize("owner", ["embedder", "provider"])
def test_sentence_model_loads_silently_with_verbose_0(minilm_path, owner, capfd):
    """verbose=0 is silent: no "Loading weights" bar while the model loads (verbose=1 shows it)."""
    from transformers.utils import logging as hf_logging

    from zeromatch_sk.providers import SentenceTransformerProvider

    def load_and_use(verbose):
        clear_caches()  # the model loads once per process: forget it so the next use loads it again
        if owner == "embedder":
            SentenceEmbedder(model=minilm_path, verbose=verbose).fit_transform(TEXTS[:1])
        else:
            SentenceTransformerProvider(model=minilm_path, verbose=verbose).predict_proba(
                TEXTS[:1], ["a", "b"]
            )
        return capfd.readouterr()

    enabled_before = hf_logging.is_progress_bar_enabled()
    if not enabled_before:
        pytest.skip("transformers' progress bars are switched off in this environment")
    capfd.readouterr()
    loud = load_and_use(verbose=1)
    assert "Loading weights" in loud.err  # the bar this test is about exists
    quiet = load_and_use(verbose=0)
    assert quiet.out == "" and quiet.err == ""
    assert hf_logging.is_progress_bar_enabled()  # the process-wide switch is restored
    clear_caches()


@pytest.mark.slow
def test_sentence_embedder_bad_input(minilm_path):
    embedder = SentenceEmbedder(model=minilm_path, verbose=0)
    with pytest.raises(ValueError, match="empty texts at rows \\[0\\]"):
        embedder.fit_transform(["", "fine"])
    with pytest.raises(TypeError, match="wrap it in a list"):
        embedder.fit_transform("one text")
    with pytest.raises(ValueError, match="shape \\(2, 2\\)"):
        embedder.fit_transform([["a", "b"], ["c", "d"]])
    with pytest.raises(ValueError, match="no texts"):
        embedder.fit_transform([])
