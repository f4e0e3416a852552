"""Zero-shot image teacher: an open_clip model scoring class prompts."""

from __future__ import annotations

import os
from numbers import Real
from typing import ClassVar

from sklearn.utils._param_validation import Interval

from .._foundation._clip import DEFAULT_CLIP_MODEL, DEFAULT_CLIP_PRETRAINED, ClipBackend
from .._foundation._zero_shot import EmbeddingZeroShotProvider

__all__ = ["ClipProvider"]

DEFAULT_IMAGE_TEMPLATES = ("a photo of a {}.",)


class ClipProvider(EmbeddingZeroShotProvider):
    """Zero-shot image teacher from an open_clip CLIP model.

    Each class becomes one prompt per template (``"a photo of a {}."`` with
    the class name filled in); the class embedding is the mean of its
    normalised prompt embeddings from the model's text tower (CLIP's prompt
    ensembling). A row's probabilities are the softmax of its cosine
    similarities to the class embeddings times the model's logit scale. The
    model loads on first use and is shared by every copy of the provider in
    the process; it is never pickled with the provider.

    Parameters
    ----------
    model : str, default="ViT-B-32"
        An open_clip architecture from ``open_clip.list_models()`` (or one
        registered with ``open_clip.add_model_config``), or
        ``"local-dir:/path"`` / ``"hf-hub:org/name"`` (then ``pretrained`` is
        ignored). A registered config exists only in the process that
        registered it; for joblib workers (``n_jobs``), prefer ``"local-dir:"``.
    pretrained : str or path-like, default="laion2b_s34b_b79k"
        A pretrained tag of ``model`` (downloaded from the hub on first use)
        or the path of a local checkpoint file, which is how to run without
        hub access.
    class_names : list of str, dict or None, default=None
        Names to put in the prompts. ``None`` uses the class labels, which
        must then be strings; a list gives one name per class (in the order
        of ``classes``); a dict maps labels to names.
    template : str, list of str or None, default=None
        Prompt template(s) with a ``{}`` placeholder for the class name;
        several are averaged per class. ``None`` uses ``"a photo of a {}."``.
    templates : list of str or None, default=None
        Same as ``template``; give one or the other.
    temperature : float or None, default=None
        ``None`` scales cosine similarities by the model's own
        ``logit_scale.exp()`` (100 for the released CLIP models); a float
        divides them by ``temperature`` instead.
    batch_size : int, default=32
        Images or prompts per forward pass.
    device : str or torch.device, default="auto"
        Torch device; ``"auto"`` picks CUDA, then MPS, then the CPU.
    memory : str, path, joblib.Memory or None, default=None
        On-disk cache of image and prompt embeddings, keyed by architecture,
        checkpoint and content, in chunks of 512 rows. Without it, embeddings
        are cached in memory for the life of the process.
    verbose : int, default=1
        0 hides the progress bar; 1 shows it when encoding takes more than a
        couple of seconds; 2 always shows it.

    See Also
    --------
    zeromatch_sk.embedders.ClipEmbedder : The matching embedder for a pipeline.
    SentenceTransformerProvider : The text counterpart.

    Notes
    -----
    ``predict_proba(X, classes)`` accepts either

    - image embeddings from the same model: a numeric array of shape
      (n_samples, embed_dim), e.g. the output of
      :class:`~zeromatch_sk.embedders.ClipEmbedder` in a pipeline, or
    - raw images: a list of file paths, encoded bytes, PIL images or uint8
      arrays (H, W) / (H, W, C), or one array (N, H, W) / (N, H, W, C).

    Examples
    --------
    >>> from zeromatch_sk.providers import ClipProvider
    >>> teacher = ClipProvider()             # ViT-B-32, laion2b_s34b_b79k; nothing loads yet
    >>> teacher.predict_proba(["cat.jpg", "dog.jpg"], classes=["cat", "dog"])  # doctest: +SKIP
    array([[0.99, 0.01],
           [0.02, 0.98]])

    Without hub access, point ``pretrained`` at a checkpoint file:

    >>> teacher = ClipProvider(pretrained="/models/open_clip_pytorch_model.bin")  # doctest: +SKIP
    """

    _parameter_constraints: ClassVar[dict] = {
        **EmbeddingZeroShotProvider._parameter_constraints,
        "model": [str],
        # None is refused when used, with the fix, unless model is 'hf-hub:' or 'local-dir:'
        "pretrained": [str, os.PathLike, None],
        "temperature": [Interval(Real, 0, None, closed="neither"), None],
    }
    _default_templates = DEFAULT_IMAGE_TEMPLATES
    _embedder_name = "ClipEmbedder"
    _raw_input_hint = "raw images"

    def __init__(
        self,
        model=DEFAULT_CLIP_MODEL,
        pretrained=DEFAULT_CLIP_PRETRAINED,
        *,
        class_names=None,
        template=None,
        templates=None,
        temperature=None,
        batch_size=32,
        device="auto",
        memory=None,
        verbose=1,
    ):
        self.model = model
        self.pretrained = pretrained
        self.class_names = class_names
        self.template = template
        self.templates = templates
        self.temperature = temperature
        self.batch_size = batch_size
        self.device = device
        self.memory = memory
        self.verbose = verbose

    def _backend(self) -> ClipBackend:
        return ClipBackend(self.model, self.pretrained, self.device)

    def _logit_scale(self, backend: ClipBackend) -> float:
        if self.temperature is None:
            return backend.logit_scale(self.memory)
        return self._scale_from_temperature()
