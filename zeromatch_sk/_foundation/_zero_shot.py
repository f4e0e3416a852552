"""Zero-shot by embedding similarity: prompts, the maths and the provider base."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from sklearn.utils._param_validation import InvalidParameterError, validate_parameter_constraints

from ._base import BaseProvider, resolve_class_names
from ._params import ENCODING_CONSTRAINTS, check_positive_int


# -------------------------------------------------------------------- prompts
def resolve_templates(template: Any, templates: Any, default: Sequence[str]) -> list[str]:
    """The prompt templates to use, from the ``template`` and ``templates`` parameters.

    Examples
    --------
    >>> resolve_templates(None, None, ["a photo of a {}."])
    ['a photo of a {}.']
    >>> resolve_templates("about {}.", None, ["{}"])
    ['about {}.']
    """
    if template is not None and templates is not None:
        raise ValueError(
            "Give the prompt templates either as template= or as templates=, not both; "
            "templates=[...] takes several templates, which are averaged per class."
        )
    chosen = templates if templates is not None else template
    if chosen is None:
        chosen = default
    if isinstance(chosen, str):
        chosen = [chosen]
    try:
        chosen = list(chosen)
    except TypeError:
        raise TypeError(
            f"templates must be a string or a list of strings with a '{{}}' placeholder, got {chosen!r}."
        ) from None
    if not chosen:
        raise ValueError("templates is empty; give at least one template, e.g. 'a photo of a {}.'.")
    for t in chosen:
        if not isinstance(t, str) or "{}" not in t:
            raise ValueError(
                f"Each template needs a '{{}}' placeholder where the class name goes, got {t!r}; "
                "write e.g. 'a photo of a {}.' or 'This news article is about {}.'."
            )
    return chosen


def build_prompts(classes: Any, class_names: Any, templates: list[str], *, owner: str) -> list[str]:
    """One prompt per (class, template), classes outer: ``n_classes * n_templates`` strings.

    Examples
    --------
    >>> build_prompts(["cat", "dog"], None, ["a {}", "the {}"], owner="provider")
    ['a cat', 'the cat', 'a dog', 'the dog']
    """
    names = resolve_class_names(classes, class_names, owner=owner)
    blank = [c for c, n in zip(list(classes), names) if not n.strip()]
    if blank:
        raise ValueError(
            f"The classes {blank[:5]!r} have empty names, so their prompts say nothing about them; "
            "give them names with class_names=[...] or class_names={label: name}."
        )
    return [t.replace("{}", name) for name in names for t in templates]


# ---------------------------------------------------------------- zero-shot math
def l2_normalize(E: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(E, axis=1, keepdims=True)
    return E / np.maximum(norms, 1e-12)


def class_embeddings(prompt_embeddings: np.ndarray, n_classes: int) -> np.ndarray:
    """Mean of each class's normalised prompt embeddings, renormalised.

    ``prompt_embeddings`` holds ``n_classes * n_templates`` rows, classes outer.

    Examples
    --------
    >>> P = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 3.0], [0.0, 1.0]])
    >>> class_embeddings(P, 2).round(3)
    array([[0.707, 0.707],
           [0.   , 1.   ]])
    """
    P = l2_normalize(np.asarray(prompt_embeddings, dtype=np.float64))
    C = P.reshape(n_classes, -1, P.shape[1]).mean(axis=1)
    return l2_normalize(C)


def zero_shot_proba(E: np.ndarray, C: np.ndarray, scale: float) -> np.ndarray:
    """``softmax(scale * cos(E, C))`` row by row.

    Examples
    --------
    >>> E = np.array([[2.0, 0.0], [0.0, 0.5]])
    >>> C = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> zero_shot_proba(E, C, 50.0).argmax(axis=1)
    array([0, 1])
    """
    logits = scale * (l2_normalize(np.asarray(E, dtype=np.float64)) @ l2_normalize(C).T)
    logits -= logits.max(axis=1, keepdims=True)
    P = np.exp(logits)
    return P / P.sum(axis=1, keepdims=True)


def as_embeddings(X: Any) -> np.ndarray | None:
    """``X`` as a float array if it is a 2-D numeric matrix of embeddings, else None (raw inputs)."""
    if isinstance(X, (str, bytes)):
        return None
    if hasattr(X, "to_numpy") and hasattr(X, "dtypes"):  # pandas DataFrame
        X = X.to_numpy()
    if isinstance(X, np.ndarray):
        arr = X
    elif isinstance(X, Sequence) and len(X) and _is_vector(X[0]):
        try:
            arr = np.asarray(X)
        except ValueError:  # ragged: not a matrix
            return None
    else:
        return None
    if arr.ndim == 2 and arr.dtype.kind in "fiu":
        return arr.astype(np.float64, copy=False)
    return None


def _is_vector(row: Any) -> bool:
    if isinstance(row, np.ndarray):
        return row.ndim == 1
    return isinstance(row, (list, tuple)) and len(row) > 0 and isinstance(row[0], (int, float, np.number))


# ---------------------------------------------------------------------- provider
class EmbeddingZeroShotProvider(BaseProvider):
    """Zero-shot by cosine similarity between row embeddings and class-prompt embeddings.

    Subclasses set ``_default_templates`` and implement ``_backend()`` (an
    object with ``model_id``, ``embed_prompts(prompts, ...)`` and
    ``embed_inputs(X, ...)``), ``_logit_scale(backend)`` and
    ``_raw_input_hint``.
    """

    _parameter_constraints: ClassVar[dict] = {
        "class_names": ["array-like", Mapping, None],
        # the "{}" placeholder and "template or templates, not both" are checked by resolve_templates
        "template": [str, "array-like", None],
        "templates": [str, "array-like", None],
        **ENCODING_CONSTRAINTS,
    }
    _default_templates: tuple[str, ...] = ("{}",)
    _embedder_name = "the matching embedder"
    _raw_input_hint = "raw inputs"

    def _check_params(self) -> None:
        validate_parameter_constraints(
            self._parameter_constraints, self.get_params(deep=False), caller_name=type(self).__name__
        )

    def _backend(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _logit_scale(self, backend) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def _encoding_kwargs(self) -> dict:
        return {
            "memory": self.memory,
            "batch_size": check_positive_int(self.batch_size, "batch_size"),
            "verbose": self.verbose,
        }

    def class_embeddings(self, classes) -> np.ndarray:
        """Unit-norm embedding of each class: its prompts, embedded and averaged.

        Parameters
        ----------
        classes : array-like of shape (n_classes,)
            Class labels, in column order.

        Returns
        -------
        C : ndarray of shape (n_classes, embedding_dim)
        """
        self._check_params()
        return self._class_embeddings(self._backend(), classes)

    def _class_embeddings(self, backend, classes) -> np.ndarray:
        classes = list(np.asarray(classes, dtype=object))
        templates = resolve_templates(self.template, self.templates, self._default_templates)
        prompts = build_prompts(classes, self.class_names, templates, owner=type(self).__name__)
        P = backend.embed_prompts(prompts, **self._encoding_kwargs())
        return class_embeddings(P, len(classes))

    def predict_proba(self, X, classes):
        """Zero-shot class probabilities of each row of ``X``.

        Parameters
        ----------
        X : array-like
            Embeddings of shape (n_samples, embedding_dim) from the same model,
            or raw inputs (see the class docstring).
        classes : array-like of shape (n_classes,)
            Class labels; columns of the output follow this order.

        Returns
        -------
        P : ndarray of shape (n_samples, n_classes)
        """
        self._check_params()
        backend = self._backend()
        scale = self._logit_scale(backend)
        C = self._class_embeddings(backend, classes)
        E = as_embeddings(X)
        if E is None:
            E = backend.embed_inputs(X, **self._encoding_kwargs())
        elif E.shape[1] != C.shape[1]:
            raise ValueError(
                f"X has {E.shape[1]} features, but {type(self).__name__}(model={self.model!r}) embeds into "
                f"{C.shape[1]} dimensions. Give it embeddings from the same model (for example from "
                f"{self._embedder_name} with the same model) or {self._raw_input_hint}."
            )
        return zero_shot_proba(E, C, scale)

    def _scale_from_temperature(self) -> float:
        t = self.temperature  # a positive real, checked by _check_params; True passes as the int 1
        if isinstance(t, bool):
            raise InvalidParameterError(
                f"The 'temperature' parameter of {type(self).__name__} must be a positive number, got {t!r}; "
                "the scores are cosine similarities divided by temperature, e.g. temperature=0.02 (scale 50)."
            )
        return 1.0 / float(t)
