"""Fingerprint of the foundation-model paths and a fit, to show that a reorganisation changed no result.

Question: are the embeddings, the zero-shot teachers' probabilities, an LLM teacher's answers and a default fit
bit-identical before and after issue 19's reorganisation (3414c5f^ .. 6d97254) and after the chunked embedding
cache? Run it on each checkout with the same interpreter, then compare the JSON files::

    git worktree add /tmp/before 3414c5f^ && PYTHONPATH=/tmp/before python benchmarks/reorganisation_fingerprint.py A.json
    python benchmarks/reorganisation_fingerprint.py B.json && diff A.json B.json

It uses only public imports that exist on both sides (the loopback LLM server moved to ``zeromatch_sk.testing``).
The committed outputs are ``benchmarks/reorganisation_fingerprint_results.json`` (one entry per checkout).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch

torch.set_num_threads(1)

import zeromatch_sk
from zeromatch_sk import ZeroMatchClassifier
from zeromatch_sk.datasets import load_ag_news_sample
from zeromatch_sk.embedders import ClipEmbedder, SentenceEmbedder
from zeromatch_sk.providers import ClipProvider, LLMProvider, SentenceTransformerProvider

try:
    from zeromatch_sk.testing import FakeLLMServer
except ImportError:  # before the move
    from zeromatch_sk.providers._fake_llm_server import FakeLLMServer

TINY_CLIP = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def digest(a) -> str:
    a = np.ascontiguousarray(np.asarray(a))
    return hashlib.sha256(a.dtype.str.encode() + str(a.shape).encode() + a.tobytes()).hexdigest()[:16]


def text_paths(out: dict, folder: str) -> None:
    news = load_ag_news_sample()
    rows = np.concatenate([np.flatnonzero(np.asarray(news.target) == c)[:40] for c in np.unique(news.target)])
    texts = [news.data[i] for i in rows]
    target = np.asarray(news.target, dtype=object)[rows]
    classes = np.unique(target)
    for name, memory in (
        ("memory=None", None),
        ("memory=folder, cold", folder),
        ("memory=folder, warm", folder),
    ):
        E = SentenceEmbedder(verbose=0, memory=memory).fit_transform(texts)
        out[f"SentenceEmbedder ({name})"] = digest(E)
    teacher = SentenceTransformerProvider(template=news.template, class_names=news.class_names, verbose=0)
    P = teacher.predict_proba(E, classes)
    out["SentenceTransformerProvider.predict_proba"] = digest(P)
    y = np.full(len(target), -1, dtype=object)
    y[::10] = target[::10]
    clf = ZeroMatchClassifier(provider=teacher, random_state=0, max_epochs=6, kd_epochs=2, verbose=0)
    clf.set_params(weak_augment="gaussian")  # the default before the views followed the data
    out["ZeroMatchClassifier(provider=sentence).predict_proba"] = digest(clf.fit(E, y).predict_proba(E))


def clip_paths(out: dict, folder: str) -> None:
    import open_clip

    config = os.path.join(folder, "fingerprint-tiny-clip.json")
    with open(config, "w") as f:
        json.dump(TINY_CLIP, f)
    open_clip.add_model_config(config)
    torch.manual_seed(0)
    checkpoint = os.path.join(folder, "tiny.pt")
    torch.save(open_clip.create_model("fingerprint-tiny-clip").state_dict(), checkpoint)
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 8)
    images = rng.integers(0, 90, size=(len(y), 24, 24, 3), dtype=np.uint8)
    images[np.arange(len(y)), :, :, y] += rng.integers(120, 165, size=(len(y), 24, 24), dtype=np.uint8)
    params = {"model": "fingerprint-tiny-clip", "pretrained": checkpoint, "verbose": 0}
    out["ClipEmbedder"] = digest(ClipEmbedder(**params).fit_transform(list(images)))
    classes = np.array(["red", "green", "blue"], dtype=object)
    out["ClipProvider.predict_proba"] = digest(ClipProvider(**params).predict_proba(list(images), classes))


def llm_path(out: dict) -> None:
    answers = {"goal": "sports", "stocks": "business", "vote": "world"}
    texts = ["A late goal.", "Stocks fell.", "The vote was close.", "Something else."]
    classes = np.array(["business", "sports", "world"], dtype=object)
    with FakeLLMServer(answers) as srv:
        P = LLMProvider(model="m", base_url=srv.base_url, verbose=0).predict_proba(texts, classes)
    out["LLMProvider.predict_proba"] = digest(P)


def main() -> None:
    out: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        text_paths(out, folder)
        clip_paths(out, folder)
    llm_path(out)
    print(json.dumps({"zeromatch_sk": os.path.dirname(zeromatch_sk.__file__), **out}, indent=1))
    with open(sys.argv[1], "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
