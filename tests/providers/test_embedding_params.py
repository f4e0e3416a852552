"""Parameter validation of SentenceTransformerProvider and ClipProvider, checked before any model loads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

from zeromatch_sk.providers import ClipProvider, SentenceTransformerProvider

CLASSES = np.array(["cat", "dog"], dtype=object)
PROVIDERS = [SentenceTransformerProvider, ClipProvider]


class _NoBackend(AssertionError):
    """Raised instead of building a backend, that is before any model could load."""


@pytest.fixture(autouse=True)
def no_backend(monkeypatch):
    def refuse(self):
        raise _NoBackend(f"{type(self).__name__} started work")

    for cls in PROVIDERS:
        monkeypatch.setattr(cls, "_backend", refuse)


def _call(provider, method):
    if method == "predict_proba":
        return provider.predict_proba(np.zeros((2, 4)), CLASSES)
    return provider.class_embeddings(CLASSES)


BAD = [
    ("class_names", "cat dog"),  # a string would be split into one name per character
    ("class_names", 3),
    ("template", 3),
    ("templates", 3),
    ("temperature", 0),
    ("temperature", -1.0),
    ("temperature", np.nan),
    ("temperature", "low"),
    ("batch_size", 0),
    ("batch_size", 1.5),
    ("device", 1.5),
    ("memory", 3),
    ("verbose", "x"),
    ("verbose", -1),
    ("model", 3),
]


@pytest.mark.parametrize("method", ["predict_proba", "class_embeddings"])
@pytest.mark.parametrize("param, value", BAD)
def test_sentence_provider_refuses_bad_parameters(param, value, method):
    provider = SentenceTransformerProvider(**{param: value})
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter of SentenceTransformerProvider"):
        _call(provider, method)


@pytest.mark.parametrize("method", ["predict_proba", "class_embeddings"])
@pytest.mark.parametrize("param, value", [*BAD, ("pretrained", 3), ("model", Path("ViT-B-32"))])
def test_clip_provider_refuses_bad_parameters(param, value, method):
    provider = ClipProvider(**{param: value})
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter of ClipProvider"):
        _call(provider, method)


@pytest.mark.parametrize("cls", PROVIDERS)
@pytest.mark.parametrize(
    "params",
    [
        {"class_names": ["a cat", "a dog"]},
        {"class_names": ("a cat", "a dog")},
        {"class_names": {"cat": "a cat", "dog": "a dog"}},
        {"class_names": np.array(["a cat", "a dog"])},
        {"template": "a {}"},
        {"templates": ("a {}", "the {}")},
        {"temperature": 1},
        {"temperature": np.float32(0.5)},
        {"batch_size": np.int64(4), "verbose": True},
        {"device": torch.device("cpu")},
        {"memory": Path("cache")},
    ],
)
def test_odd_but_valid_parameters_reach_the_model(cls, params):
    with pytest.raises(_NoBackend):  # validation passed: the provider went on to build its backend
        cls(**params).predict_proba(np.zeros((2, 4)), CLASSES)


def test_clip_provider_takes_no_pretrained_with_a_hub_model():
    with pytest.raises(_NoBackend):
        ClipProvider(model="hf-hub:org/name", pretrained=None, temperature=None).class_embeddings(CLASSES)


@pytest.mark.parametrize("cls", PROVIDERS)
def test_boolean_temperature_is_refused(cls):
    # True is the int 1 to the constraints, so the scale computation refuses it itself
    with pytest.raises(InvalidParameterError, match="'temperature' parameter"):
        cls(temperature=True)._scale_from_temperature()
