"""
Images with a CLIP teacher loaded from a checkpoint file
========================================================

:class:`~zeromatch_sk.providers.ClipProvider` turns an open_clip CLIP model
into a zero-shot image teacher, and :class:`~zeromatch_sk.embedders.ClipEmbedder`
turns images into the embeddings the student learns from. Both load a
model by architecture name and pretrained weights: a tag downloaded from
the Hugging Face hub, or **the path of a checkpoint file**, which is how to
work on a machine without hub access.

This example has no hub access and no real CLIP weights either, so it
builds a *tiny* CLIP architecture with random weights, saves it as a
checkpoint and loads that file back through the same ``pretrained=path``
route a real checkpoint would take. **A random-weight CLIP shows the
mechanics, not the accuracy:** its zero-shot guesses are close to chance,
and whatever the student achieves here comes from the few labels and from
the structure of the random image features. With real weights (for
example ``ClipProvider(model="ViT-B-32",
pretrained="/models/open_clip_pytorch_model.bin")``) the teacher is a
useful one.
"""

# %%
# A tiny CLIP checkpoint
# ----------------------
# open_clip knows architectures by name; ``add_model_config`` registers a
# new one from a JSON file. This one has 32x32 inputs, one transformer layer
# per tower and 64-dimensional embeddings.
import json
import logging
import tempfile
from pathlib import Path

import numpy as np
import open_clip
import torch

workdir = Path(tempfile.mkdtemp(prefix="zeromatch_clip_"))
arch = "zeromatch-example-clip"
config = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 32, "patch_size": 8, "width": 64, "layers": 1, "head_width": 32},
    "text_cfg": {"context_length": 20, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1},
}
(workdir / f"{arch}.json").write_text(json.dumps(config))
open_clip.add_model_config(workdir / f"{arch}.json")

torch.manual_seed(0)
logging.disable(logging.WARNING)  # open_clip warns that the weights are random: here they are meant to be
model = open_clip.create_model(arch)
logging.disable(logging.NOTSET)
checkpoint = workdir / "tiny_clip.pt"
torch.save(model.state_dict(), checkpoint)
print(f"{arch}: {checkpoint.stat().st_size / 1e6:.1f} MB checkpoint at {checkpoint.name}")

# %%
# Images
# ------
# Fashion-MNIST test images when the Debian package ``dataset-fashion-mnist``
# is installed, otherwise small generated pictures of four patterns. Either
# way: four classes, 24 images each, 4 labeled per class.
import gzip

FASHION = Path("/usr/share/datasets/fashion-mnist")


def read_idx(path):
    """Arrays from the IDX files Fashion-MNIST ships in."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def generated_images(per_class, rng):
    """28x28 grey images of stripes (two directions), a disc and a checkerboard, with noise."""
    yy, xx = np.mgrid[:28, :28]
    patterns = {
        "horizontal stripes": (yy // 4) % 2 == 0,
        "vertical stripes": (xx // 4) % 2 == 0,
        "disc": (yy - 13.5) ** 2 + (xx - 13.5) ** 2 < 80,
        "checkerboard": ((yy // 7) + (xx // 7)) % 2 == 0,
    }
    images, labels = [], []
    for name, mask in patterns.items():
        for _ in range(per_class):
            shifted = np.roll(mask, rng.integers(-3, 4, size=2), axis=(0, 1))
            img = 40 + 170 * shifted + rng.normal(0, 25, size=(28, 28))
            images.append(np.clip(img, 0, 255).astype(np.uint8))
            labels.append(name)
    return images, np.array(labels, dtype=object)


rng = np.random.default_rng(0)
if (FASHION / "t10k-images-idx3-ubyte.gz").is_file():
    names = {0: "T-shirt", 1: "trouser", 7: "sneaker", 8: "bag"}
    all_images = read_idx(FASHION / "t10k-images-idx3-ubyte.gz")
    all_labels = read_idx(FASHION / "t10k-labels-idx1-ubyte.gz")
    rows = np.concatenate([np.flatnonzero(all_labels == k)[:24] for k in names])
    images = list(all_images[rows])
    truth = np.array([names[k] for k in all_labels[rows]], dtype=object)
    source = "Fashion-MNIST"
else:
    images, truth = generated_images(24, rng)
    source = "generated patterns"

y = np.full(len(truth), -1, dtype=object)
for name in np.unique(truth):
    y[rng.choice(np.flatnonzero(truth == name), size=4, replace=False)] = name
print(f"{len(images)} {source} images, {(y != -1).sum()} labeled: {sorted(set(truth))}")

# %%
# Teacher, embedder and student in one pipeline
# ---------------------------------------------
# The embedder and the teacher name the same architecture and checkpoint:
# the teacher then scores the pipeline's embeddings directly, without
# encoding the images a second time. The model loads once and is shared.
#
# The embeddings of a random-weight CLIP differ little from one image to the
# next (their cosine similarities are around 0.98), so the student gets a
# larger learning rate than the default ``1e-3`` to pick up the small
# differences; with real CLIP weights the default suits.
from sklearn.pipeline import make_pipeline

from zeromatch_sk import ZeroMatchClassifier
from zeromatch_sk.embedders import ClipEmbedder
from zeromatch_sk.providers import ClipProvider

teacher = ClipProvider(model=arch, pretrained=checkpoint, template="a photo of a {}.", verbose=0)
pipe = make_pipeline(
    ClipEmbedder(model=arch, pretrained=checkpoint, verbose=0),
    ZeroMatchClassifier(
        provider=teacher, hidden_layer_sizes=(64,), lr=1e-2, kd_epochs=5, max_epochs=10, random_state=0
    ),
)
pipe.fit(images, y)

student = pipe[-1]
unlabeled = y == -1
print(f"embedding width: {pipe[0].embedding_dim_}")
print(f"teacher accuracy on the labeled rows: {student.teacher_accuracy_:.2f} (chance: 0.25)")
print(
    f"student accuracy on the unlabeled rows: {np.mean(student.transduction_[unlabeled] == truth[unlabeled]):.2f}"
)

# %%
# What each model says
# --------------------
# A few unlabeled images with the teacher's zero-shot guess and the
# student's prediction.
import matplotlib.pyplot as plt

teacher_says = student.classes_[student.teacher_proba_raw_.argmax(axis=1)]
shown = np.flatnonzero(unlabeled)[:: max(1, unlabeled.sum() // 12)][:12]
fig, axes = plt.subplots(2, 6, figsize=(10, 5), layout="constrained")
for ax, i in zip(axes.ravel(), shown):
    ax.imshow(images[i], cmap="gray")
    ax.set_title(f"teacher: {teacher_says[i]}\nstudent: {student.transduction_[i]}", fontsize=7)
    ax.set_xlabel(f"truth: {truth[i]}", fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])

# %%
# The same comparison for every image, as confusion matrices: the teacher's
# matrix is what a random-weight model gives, the student's what 16 labels
# and the unlabeled images can recover on top of it.
from zeromatch_sk.plotting import plot_teacher_student_confusion

fig = plot_teacher_student_confusion(pipe, images, truth)
