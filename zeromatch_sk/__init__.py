"""zeromatch_sk: semi-supervised learning with zero-shot foundation-model pseudo-labels.

ZeroMatch (Chung & Chen, TMLR 2026) trains a compact student from a few
labeled rows, many unlabeled rows, and the zero-shot pseudo-labels of a
foundation model reached only through inference. :class:`ZeroMatchClassifier`
is a scikit-learn classifier; ``y == -1`` marks unlabeled rows.
"""

from ._classifier import REFERENCE, ZeroMatchClassifier
from ._config import config_context, get_config, set_config
from .defences import Defences

__version__ = "0.1.0.dev0"

__all__ = [
    "REFERENCE",
    "Defences",
    "ZeroMatchClassifier",
    "__version__",
    "config_context",
    "get_config",
    "set_config",
]
