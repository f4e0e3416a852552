"""Input and parameter checks of the classifier that scikit-learn's validation does not make.

Each check names the argument and the fix. They run on what the user passed
(raw texts or images instead of features, features beyond float32, ragged
teacher output, layer widths, a user encoder of the wrong input width) and on
what the network returns (non-finite probabilities), so no NaN reaches the
user silently.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from .providers._base import TeacherError

__all__ = [
    "FLOAT32_MAX",
    "check_callbacks",
    "check_finite_proba",
    "check_float32_range",
    "check_hidden_layer_sizes",
    "check_module_forward",
    "check_not_raw_input",
    "check_sample_weight",
    "pseudo_labels_array",
]

#: The network computes in float32; larger magnitudes become infinite.
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: Feature magnitudes above this are named as the likely cause of a diverged fit (scaled features are ~1).
LARGE_FEATURE = 1e4

_TEXT_FIX = (
    "ZeroMatchClassifier trains on numeric features (embeddings or tabular columns). Embed the texts "
    "first with zeromatch_sk.embedders.SentenceEmbedder, in a Pipeline: make_pipeline(SentenceEmbedder(), "
    "ZeroMatchClassifier(provider=SentenceTransformerProvider())). For image file paths use "
    "zeromatch_sk.embedders.ClipEmbedder instead."
)
_IMAGE_FIX = (
    "ZeroMatchClassifier trains on numeric features (one row of numbers per sample), not on images. Embed "
    "them first with zeromatch_sk.embedders.ClipEmbedder, in a Pipeline: make_pipeline(ClipEmbedder(), "
    "ZeroMatchClassifier(provider=ClipProvider(...)))."
)


def _is_image(value) -> bool:
    if type(value).__module__.startswith("PIL."):
        return True
    return isinstance(value, np.ndarray) and value.ndim >= 2


def _is_word(value) -> bool:
    """A string that is not a number (``'1.5'`` converts to float; ``'a cat'`` does not)."""
    if isinstance(value, bytes):
        return True
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return True
    return False


def _first_row(X) -> list:
    """The first row of a 2-D array-like, or the first entry of a 1-D one, as a list (empty if none)."""
    if hasattr(X, "iloc"):  # pandas: positional, whatever the index
        return X.iloc[0].tolist() if X.ndim == 2 else [X.iloc[0]]
    first = X[0]
    return (
        list(first)
        if isinstance(first, (list, tuple, np.ndarray)) and getattr(first, "ndim", 1) == 1
        else [first]
    )


def check_not_raw_input(X, *, name: str = "X") -> None:
    """Refuse raw texts, images and non-numeric columns, naming what to put in front of the classifier.

    Only the first row is read, so the check costs nothing on real features.

    Examples
    --------
    >>> check_not_raw_input([[0.5, 1.0]])
    >>> check_not_raw_input(["a cat", "a dog"])
    Traceback (most recent call last):
    ...
    ValueError: X looks like raw texts (first entry 'a cat'). ZeroMatchClassifier trains on ...
    """
    if isinstance(X, (str, bytes)):
        raise ValueError(f"{name} is a single string, not a table of features. {_TEXT_FIX}")  # noqa: TRY004 - as check_array
    shape = getattr(X, "shape", None)
    if (shape is None and not isinstance(X, (list, tuple))) or hasattr(X, "tocsr"):
        return  # left to scikit-learn's validation (sparse matrices included)
    kind = getattr(getattr(X, "dtype", None), "kind", "O")
    if shape is not None and len(shape) in (3, 4) and kind in "uifb":
        raise ValueError(f"{name} looks like images (an array of shape {tuple(shape)}). {_IMAGE_FIX}")
    if len(X) == 0 or kind not in "OUS" or (shape is not None and len(shape) not in (1, 2)):
        return
    if hasattr(X, "iloc"):
        first = X.iloc[0] if X.ndim == 1 else None  # a Series of texts; a DataFrame goes by its first row
    else:
        first = X[0]
    if first is not None and (_is_word(first) or _is_image(first)):  # a 1-D sequence of texts or images
        if _is_image(first):
            raise ValueError(f"{name} looks like images (first entry: {type(first).__name__}). {_IMAGE_FIX}")
        raise ValueError(f"{name} looks like raw texts (first entry {str(first)[:40]!r}). {_TEXT_FIX}")
    row = _first_row(X)
    words = [v for v in row if _is_word(v)]
    if words and len(row) == 1:  # one column of texts
        raise ValueError(f"{name} looks like raw texts (first entry {str(words[0])[:40]!r}). {_TEXT_FIX}")
    if words:
        raise ValueError(
            f"{name} has non-numeric columns (first row holds {str(words[0])[:40]!r}). ZeroMatchClassifier "
            "needs numeric features: encode categorical columns (e.g. OneHotEncoder in a ColumnTransformer), "
            "and embed free text with zeromatch_sk.embedders.SentenceEmbedder (images: ClipEmbedder), in a "
            "Pipeline before the classifier."
        )


def check_float32_range(X: np.ndarray, *, name: str = "X") -> None:
    """Refuse finite float64 values that float32, the network's precision, would turn into infinities."""
    if X.dtype != np.float64 or X.size == 0:
        return
    largest = float(np.abs(X).max())
    if largest > FLOAT32_MAX:
        raise ValueError(
            f"{name} has values up to {largest:.3g} in absolute value, beyond the float32 range ({FLOAT32_MAX:.3g}) "
            "the network computes in: they would become infinite and every prediction NaN. Scale the features "
            "(e.g. StandardScaler() before the classifier in a Pipeline, or divide X by a constant)."
        )


def check_hidden_layer_sizes(sizes) -> tuple:
    """``hidden_layer_sizes`` as a tuple of positive ints; ``()`` (linear heads on the inputs) is allowed."""
    sizes = tuple(sizes)
    for i, size in enumerate(sizes):
        if not isinstance(size, numbers.Integral) or isinstance(size, (bool, np.bool_)) or size < 1:
            raise ValueError(
                f"hidden_layer_sizes must hold positive integers (one width per hidden layer, e.g. (512,) or "
                f"(256, 128)); entry {i} is {size!r}. Use a whole number of units >= 1, or () for linear "
                "heads on the inputs."
            )
    return tuple(int(s) for s in sizes)


def pseudo_labels_array(pseudo_labels) -> np.ndarray:
    """``pseudo_labels`` as an array, refusing ragged rows with a message that names it."""
    try:
        P = np.asarray(pseudo_labels)
    except ValueError as exc:  # numpy's "inhomogeneous shape"
        raise TeacherError(
            "pseudo_labels has rows of different lengths. Pass one class label per row (shape (n_samples,)) "
            "or one probability row per sample, each with one column per class (shape (n_samples, n_classes))."
        ) from exc
    if P.dtype == object and P.ndim == 1 and any(isinstance(v, (list, tuple, np.ndarray)) for v in P):
        raise TeacherError(
            "pseudo_labels holds sequences of different lengths. Pass one class label per row "
            "(shape (n_samples,)) or an (n_samples, n_classes) probability matrix."
        )
    return P


def check_module_forward(net: torch.nn.Module, X: np.ndarray, n_classes: int) -> None:
    """Run the student built around the user's ``module`` on the first row of ``X`` before training.

    The forward runs in eval mode without gradients (no dropout, no random
    numbers drawn), so it changes neither the weights nor the seeding.
    """
    row = torch.as_tensor(np.asarray(X[:1], dtype=np.float32))
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            out = net(row)
    except Exception as exc:  # the user's module: say which argument to fix
        raise ValueError(
            f"module does not accept the data: running it on one row of X (shape {tuple(row.shape)}) failed "
            f"with {type(exc).__name__}: {exc}. The module must map (batch, {X.shape[1]}) float32 tensors "
            f"to (batch, width), and its out_features attribute, if any, must be that width. Build it for "
            f"{X.shape[1]} input features, or pass a factory module=lambda n_features: ... ."
        ) from exc
    finally:
        net.train(was_training)
    if out.shape != (1, n_classes):
        raise ValueError(
            f"module gave the student an output of shape {tuple(out.shape)}, expected (1, {n_classes})."
        )
    if not torch.isfinite(out).all():
        raise ValueError(
            "module returned non-finite values (NaN or infinity) on the first row of X before any training; "
            "check its initialisation and forward, and the scale of X."
        )


def check_finite_proba(proba: np.ndarray, X_t: torch.Tensor, module: torch.nn.Module) -> np.ndarray:
    """Raise instead of returning NaN or infinite probabilities, saying whether X or the weights are at fault."""
    bad = ~np.isfinite(proba).all(axis=1)
    if not bad.any():
        return proba
    weights_ok = all(bool(torch.isfinite(p).all()) for p in module.parameters())
    largest = float(X_t.abs().max()) if X_t.numel() else 0.0
    scale = (
        f"X holds values up to {largest:.3g}; scale the features (e.g. StandardScaler() before the classifier "
        "in a Pipeline) and refit."
    )
    if weights_ok:
        why = f"the network's float32 arithmetic overflows on these rows. {scale}"
    else:
        why = "the network's weights are not finite: training diverged. " + (
            scale if largest > LARGE_FEATURE else "Refit with a smaller lr, or a module that stays finite."
        )
    raise ValueError(
        f"The student returned NaN or infinite probabilities for {int(bad.sum())} of {len(bad)} rows: {why}"
    )


def check_callbacks(callbacks) -> None:
    """Each entry a skorch callback (instance or class) or a ``(name, callback)`` pair, as skorch takes them."""
    from skorch.callbacks import Callback

    for i, entry in enumerate(callbacks or ()):
        cb = entry[1] if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str) else entry
        if not (isinstance(cb, Callback) or (isinstance(cb, type) and issubclass(cb, Callback))):
            raise TypeError(
                f"callbacks[{i}] is {type(entry).__name__} {entry!r}, not a skorch callback. Pass instances of "
                "skorch.callbacks.Callback (e.g. callbacks=[skorch.callbacks.ProgressBar()]) or (name, callback) "
                "pairs."
            )


def check_sample_weight(sample_weight, n_samples: int):
    """``sample_weight`` as a 1-D float array of ``n_samples`` finite, non-negative weights, or None."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (n_samples,) or not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(
            f"sample_weight must hold one finite, non-negative weight per row of y ({n_samples} rows); got an "
            f"array of shape {w.shape}."
        )
    return w
