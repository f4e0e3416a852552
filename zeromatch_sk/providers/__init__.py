"""Zero-shot teachers: foundation models reached through inference only.

A provider is any object with ``predict_proba(X, classes)`` returning an
``(n_samples, n_classes)`` probability matrix (columns in the order of
``classes``), or a plain callable with that signature.

The concrete providers import their heavy dependencies (open_clip,
sentence-transformers, openai) only when first used, so importing this
package is cheap and works without the optional extras.
"""

from ._base import (
    BaseProvider,
    TeacherError,
    TeacherProvider,
    check_teacher_proba,
    resolve_class_names,
    teacher_predict_proba,
)

__all__ = [
    "BaseProvider",
    "BudgetExceededError",
    "ClipProvider",
    "LLMProvider",
    "LLMProviderError",
    "SentenceTransformerProvider",
    "TeacherError",
    "TeacherProvider",
    "check_teacher_proba",
    "parse_answer",
    "resolve_class_names",
    "teacher_predict_proba",
]

_LAZY = {
    "ClipProvider": "._clip",
    "SentenceTransformerProvider": "._sentence",
    "LLMProvider": "._llm",
    "LLMProviderError": "._llm",
    "BudgetExceededError": "._llm",
    "parse_answer": "._llm",
}


def __getattr__(name):
    # The provider modules are light themselves, but keeping them lazy means a
    # broken optional dependency only breaks the provider that needs it.
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name], __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
