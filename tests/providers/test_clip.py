"""ClipProvider with a tiny open_clip model, loaded from a checkpoint like a user without hub access would."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from zeromatch_sk import ZeroMatchClassifier
from zeromatch_sk._foundation._registry import clear_caches
from zeromatch_sk.embedders import ClipEmbedder
from zeromatch_sk.providers import ClipProvider, teacher_predict_proba

open_clip = pytest.importorskip("open_clip", reason="needs open_clip_torch: pip install 'zeromatch-sk[clip]'")
torch = pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")

CLASSES = np.array(["red", "green", "blue"], dtype=object)
FAST = {
    "hidden_layer_sizes": (32,),
    "kd_epochs": 2,
    "max_epochs": 3,
    "steps_per_epoch": 5,
    "batch_size": 16,
    "random_state": 0,
}


@pytest.fixture
def provider(tiny_clip):
    return ClipProvider(model=tiny_clip.model, pretrained=tiny_clip.pretrained, device="cpu", verbose=0)


@pytest.fixture(scope="module")
def reference(tiny_clip, generated_images):
    """Image and prompt embeddings computed with open_clip directly, for comparison."""
    model, _, preprocess = open_clip.create_model_and_transforms(
        tiny_clip.model, pretrained=tiny_clip.pretrained
    )
    tokenizer = open_clip.get_tokenizer(tiny_clip.model)
    model.eval()
    images = torch.stack([preprocess(Image.fromarray(a)) for a in generated_images.images])
    with torch.no_grad():
        I = model.encode_image(images).numpy()
        T = model.encode_text(tokenizer([f"a photo of a {c}." for c in CLASSES])).numpy()
        scale = model.logit_scale.exp().item()
    return I, T, scale


def _unit(A):
    return A / np.linalg.norm(A, axis=1, keepdims=True)


def test_defaults_need_no_model():
    provider = ClipProvider()
    assert provider.get_params()["model"] == "ViT-B-32"
    assert provider.get_params()["pretrained"] == "laion2b_s34b_b79k"
    assert clone(provider).get_params() == provider.get_params()


def test_embedding_shapes_and_norms(tiny_clip, generated_images, provider):
    E = ClipEmbedder(model=tiny_clip.model, pretrained=tiny_clip.pretrained, verbose=0).fit_transform(
        generated_images.images
    )
    assert E.shape == (len(generated_images.images), tiny_clip.embed_dim)
    assert E.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(E, axis=1), 1.0, atol=1e-5)

    raw = ClipEmbedder(model=tiny_clip.model, pretrained=tiny_clip.pretrained, normalize=False, verbose=0)
    R = raw.fit_transform(generated_images.images)
    assert not np.allclose(np.linalg.norm(R, axis=1), 1.0)
    np.testing.assert_allclose(_unit(R), E, atol=1e-5)

    C = provider.class_embeddings(CLASSES)
    assert C.shape == (len(CLASSES), tiny_clip.embed_dim)
    np.testing.assert_allclose(np.linalg.norm(C, axis=1), 1.0, atol=1e-6)


def test_embeddings_match_open_clip(tiny_clip, generated_images, provider, reference):
    I, T, _ = reference
    E = ClipEmbedder(
        model=tiny_clip.model, pretrained=tiny_clip.pretrained, normalize=False, verbose=0
    ).transform(generated_images.images)
    np.testing.assert_allclose(E, I, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(provider.class_embeddings(CLASSES), _unit(T), atol=1e-5)


def test_proba_follows_cosine_similarity(tiny_clip, generated_images, provider, reference):
    I, T, scale = reference
    P = provider.predict_proba(generated_images.images, CLASSES)
    assert P.shape == (len(generated_images.images), len(CLASSES))
    assert np.all(P >= 0)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    cos = _unit(I) @ _unit(T).T
    np.testing.assert_array_equal(P.argmax(axis=1), cos.argmax(axis=1))
    logits = scale * cos
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(P, expected / expected.sum(axis=1, keepdims=True), rtol=1e-4)
    # the same from embeddings (what a pipeline hands over) as from raw images
    E = ClipEmbedder(model=tiny_clip.model, pretrained=tiny_clip.pretrained, verbose=0).transform(
        generated_images.images
    )
    np.testing.assert_allclose(provider.predict_proba(E, CLASSES), P, rtol=1e-5)


def test_temperature_overrides_logit_scale(generated_images, provider, reference):
    I, T, _ = reference
    P = provider.set_params(temperature=0.5).predict_proba(generated_images.images, CLASSES)
    logits = 2.0 * (_unit(I) @ _unit(T).T)
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(P, expected, rtol=1e-4)


def test_templates_are_averaged_per_class(provider):
    one = provider.set_params(template="a photo of a {}.").class_embeddings(CLASSES)
    two = clone(provider).set_params(template="a drawing of a {}.").class_embeddings(CLASSES)
    both = (
        clone(provider)
        .set_params(template=None, templates=["a photo of a {}.", "a drawing of a {}."])
        .class_embeddings(CLASSES)
    )
    np.testing.assert_allclose(both, _unit(one + two), atol=1e-6)


def test_class_names_and_integer_labels(generated_images, provider):
    P_names = provider.predict_proba(generated_images.images, CLASSES)
    P_dict = clone(provider).set_params(class_names={0: "red", 1: "green", 2: "blue"})
    np.testing.assert_allclose(P_dict.predict_proba(generated_images.images, [0, 1, 2]), P_names)
    with pytest.raises(ValueError, match="class_names"):
        provider.predict_proba(generated_images.images, [0, 1, 2])


def test_accepts_paths_bytes_pil_and_batches(tmp_path, generated_images, provider):
    images = generated_images.images[:3]
    paths = []
    for i, a in enumerate(images):
        paths.append(str(tmp_path / f"img{i}.png"))
        Image.fromarray(a).save(paths[-1])
    P = provider.predict_proba(images, CLASSES)
    for X in (
        paths,
        [Path(p).read_bytes() for p in paths],
        [Image.fromarray(a) for a in images],
        np.stack(images),
    ):
        np.testing.assert_allclose(provider.predict_proba(X, CLASSES), P, rtol=1e-5)
    grey = [a[..., 0] for a in images]  # (H, W) arrays are grey images
    assert provider.predict_proba(grey, CLASSES).shape == (3, 3)


def test_parameters_untouched_and_weights_never_pickled(generated_images, provider):
    before = provider.get_params()
    provider.predict_proba(generated_images.images[:4], CLASSES)
    assert provider.get_params() == before
    assert len(pickle.dumps(provider)) < 5_000
    assert len(pickle.dumps(copy.deepcopy(provider))) < 5_000
    np.testing.assert_allclose(
        pickle.loads(pickle.dumps(provider)).predict_proba(generated_images.images[:4], CLASSES),
        provider.predict_proba(generated_images.images[:4], CLASSES),
    )


def test_memory_caches_on_disk_by_checkpoint_and_content(tmp_path, tiny_clip, generated_images, monkeypatch):
    from zeromatch_sk._foundation._clip import ClipBackend

    images = generated_images.images[:6]
    params = {"model": tiny_clip.model, "pretrained": tiny_clip.pretrained, "memory": tmp_path / "cache"}
    P = ClipProvider(**params).predict_proba(images, CLASSES)

    # A new process (simulated): nothing in memory, no model may be loaded.
    clear_caches()

    def no_model(self):
        raise AssertionError("the model was loaded although everything is cached")

    monkeypatch.setattr(ClipBackend, "loaded", property(no_model))
    np.testing.assert_allclose(ClipProvider(**params).predict_proba(images, CLASSES), P)
    changed = [images[0][::-1]] + images[1:]
    with pytest.raises(AssertionError, match="cached"):
        ClipProvider(**params).predict_proba(changed, CLASSES)
    copy_path = tmp_path / "copy.pt"
    copy_path.write_bytes(Path(tiny_clip.pretrained).read_bytes())
    with pytest.raises(AssertionError, match="cached"):
        ClipProvider(**{**params, "pretrained": str(copy_path)}).predict_proba(images, CLASSES)


def test_pipeline_on_generated_images(tiny_clip, generated_images):
    y = generated_images.labels.copy()
    y[np.arange(len(y)) % 4 != 0] = -1  # 12 labeled rows, 36 unlabeled
    pipe = make_pipeline(
        ClipEmbedder(model=tiny_clip.model, pretrained=tiny_clip.pretrained, verbose=0),
        ZeroMatchClassifier(
            provider=ClipProvider(model=tiny_clip.model, pretrained=tiny_clip.pretrained, verbose=0), **FAST
        ),
    )
    pipe.fit(generated_images.images, y)
    clf = pipe[-1]
    assert list(clf.classes_) == sorted(CLASSES)
    assert 0.0 <= clf.teacher_accuracy_ <= 1.0
    pred = pipe.predict(generated_images.images)
    assert set(pred) <= set(CLASSES)
    P = pipe.predict_proba(generated_images.images[:5])
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-5)


def test_pipeline_on_fashion_mnist(tiny_clip, fashion_mnist):
    y = fashion_mnist.labels.copy()
    y[10:] = -1  # 10 labeled rows; classes= declares the ones they miss
    pipe = make_pipeline(
        ClipEmbedder(model=tiny_clip.model, pretrained=tiny_clip.pretrained, verbose=0),
        ZeroMatchClassifier(
            provider=ClipProvider(model=tiny_clip.model, pretrained=tiny_clip.pretrained, verbose=0),
            classes=np.unique(fashion_mnist.labels),
            **FAST,
        ),
    )
    pipe.fit(fashion_mnist.images, y)
    assert np.isfinite(pipe[-1].teacher_accuracy_)
    assert pipe.predict(fashion_mnist.images).shape == (len(fashion_mnist.images),)


# ------------------------------------------------------------------- bad input
def test_missing_checkpoint_names_the_fix(tiny_clip, tmp_path):
    missing = str(tmp_path / "nowhere" / "open_clip_pytorch_model.bin")
    with pytest.raises(FileNotFoundError, match="local open_clip checkpoint") as info:
        ClipProvider(model=tiny_clip.model, pretrained=missing).predict_proba(np.zeros((2, 32)), CLASSES)
    assert missing in str(info.value)
    with pytest.raises(FileNotFoundError, match="checkpoint"):
        ClipEmbedder(pretrained=missing).fit_transform([np.zeros((8, 8), np.uint8)])


def test_unknown_tag_or_missing_weights(tiny_clip):
    with pytest.raises(ValueError, match="neither a pretrained tag"):
        ClipProvider(pretrained="laion5000").predict_proba(np.zeros((2, 512)), CLASSES)
    with pytest.raises(ValueError, match="need pretrained weights"):
        ClipProvider(model=tiny_clip.model, pretrained=None).predict_proba(np.zeros((2, 32)), CLASSES)


def test_unknown_architecture_names_the_fix():
    with pytest.raises(ValueError, match=r"Unknown CLIP architecture.*ViT-B-32.*open_clip\.list_models"):
        ClipProvider(model="ViT-B-33").predict_proba(np.zeros((2, 512)), CLASSES)


def test_checkpoint_of_another_architecture(tiny_clip, tmp_path):
    import json

    wider = {**tiny_clip.config, "embed_dim": 48}
    (tmp_path / "zeromatch-test-wider-clip.json").write_text(json.dumps(wider))
    open_clip.add_model_config(tmp_path / "zeromatch-test-wider-clip.json")
    with pytest.raises(ValueError, match="Pass the model= architecture the checkpoint was saved from"):
        ClipProvider(model="zeromatch-test-wider-clip", pretrained=tiny_clip.pretrained).predict_proba(
            np.zeros((2, 48)), CLASSES
        )


def test_undecodable_image_names_the_row_and_fix(tmp_path, generated_images, provider):
    good = tmp_path / "good.png"
    Image.fromarray(generated_images.images[0]).save(good)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"this is not an image")
    with pytest.raises(ValueError, match=r"Could not decode the image at row 1 .*broken\.png.*drop that row"):
        provider.predict_proba([str(good), str(bad)], CLASSES)
    with pytest.raises(FileNotFoundError, match="row 0"):
        provider.predict_proba([str(tmp_path / "absent.png")], CLASSES)
    with pytest.raises(ValueError, match="channels last"):
        provider.predict_proba([np.zeros((3, 24, 24), np.uint8)], CLASSES)
    with pytest.raises(TypeError, match="file paths"):
        provider.predict_proba([1.5, 2.5], CLASSES)


def test_embedding_width_mismatch_names_the_fix(provider):
    with pytest.raises(ValueError, match=r"X has 10 features.*embeds into 32.*ClipEmbedder"):
        provider.predict_proba(np.random.default_rng(0).normal(size=(4, 10)), CLASSES)


def test_bad_parameters(provider):
    with pytest.raises(ValueError, match="placeholder"):
        clone(provider).set_params(template="a photo").predict_proba(np.zeros((2, 32)), CLASSES)
    with pytest.raises(ValueError, match="not both"):
        clone(provider).set_params(template="{}", templates=["{}"]).predict_proba(np.zeros((2, 32)), CLASSES)
    with pytest.raises(ValueError, match="temperature"):
        clone(provider).set_params(temperature=0).predict_proba(np.zeros((2, 32)), CLASSES)
    with pytest.raises(ValueError, match="batch_size"):
        clone(provider).set_params(batch_size=0).predict_proba(np.zeros((2, 32)), CLASSES)
    # teacher output is checked by the shared validator too
    P = teacher_predict_proba(provider, np.ones((2, 32)), CLASSES)
    assert P.shape == (2, 3)
