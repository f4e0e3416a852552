"""SetFit, the alternative few-shot text users reach for, as a benchmark competitor.

SetFit (Tunstall et al., 2022) fine-tunes the sentence model itself on pairs of labeled texts (contrastive),
then fits a logistic-regression head on the fine-tuned embeddings. Unlike every other method here it reads
the raw texts, never the cached embeddings, and it re-embeds the evaluation texts with the fine-tuned body.
It needs the ``setfit`` package (the ``benchmark`` extra) and runs offline on the packaged all-MiniLM-L6-v2.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["SetFitTextClassifier"]


class SetFitTextClassifier(ClassifierMixin, BaseEstimator):
    """scikit-learn face of a SetFit model: ``fit(texts, y)``, ``predict(texts)``.

    Parameters
    ----------
    model : str or path-like, default="all-MiniLM-L6-v2"
        The sentence-transformers body; the default resolves to the packaged copy (offline).
    num_iterations : int, default=20
        Contrastive pairs drawn per labeled text and per side (positive, negative): the SetFit paper's
        setting, so the pair count, and the training time, grow linearly with the labels.
    num_epochs : int, default=1
        Passes over the pairs.
    batch_size : int, default=16
        Pairs per contrastive step.
    random_state : int, default=0
        Seed of the pair sampling, the head and torch.

    Attributes
    ----------
    classes_ : ndarray
    model_ : setfit.SetFitModel
    """

    def __init__(
        self, model="all-MiniLM-L6-v2", *, num_iterations=20, num_epochs=1, batch_size=16, random_state=0
    ):
        self.model = model
        self.num_iterations = num_iterations
        self.num_epochs = num_epochs
        self.batch_size = batch_size
        self.random_state = random_state

    def fit(self, texts, y):
        """Fine-tune the body on pairs of ``texts`` and fit the head on ``y``."""
        try:
            from datasets import Dataset
            from setfit import SetFitModel, Trainer, TrainingArguments
            from transformers.trainer_callback import ProgressCallback
        except ImportError as exc:
            raise ImportError(
                "The SetFit benchmark method needs the setfit package: "
                'pip install -c constraints.txt -e ".[benchmark]".'
            ) from exc
        from datasets.utils.logging import disable_progress_bar

        from .._foundation._registry import quiet_loading
        from .._foundation._sentence import resolve_sentence_model

        disable_progress_bar()  # the datasets "Map" bar

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        with quiet_loading(0), _quiet_loggers("setfit"):  # no "Loading weights" bar, no untrained-head notice
            model = SetFitModel.from_pretrained(resolve_sentence_model(self.model), device="cpu")
        train = Dataset.from_dict({"text": [str(t) for t in texts], "label": codes.tolist()})
        # Nothing is written to disk (no checkpoints, no logs) and nothing is printed.
        with tempfile.TemporaryDirectory() as scratch:
            args = TrainingArguments(
                output_dir=scratch,
                batch_size=self.batch_size,
                num_epochs=self.num_epochs,
                num_iterations=self.num_iterations,
                seed=int(self.random_state),
                show_progress_bar=False,
                report_to="none",
                save_strategy="no",
                logging_strategy="no",
            )
            trainer = Trainer(model=model, args=args, train_dataset=train)
            # transformers' bar and per-step log lines ignore show_progress_bar: drop its callback.
            trainer.remove_callback(ProgressCallback)
            with _quiet_loggers("setfit", "transformers", "sentence_transformers"):
                trainer.train()
        self.model_ = model
        return self

    def predict(self, texts):
        """Class of each text: the head on the fine-tuned body's embeddings."""
        check_is_fitted(self, "model_")
        codes = np.asarray(self.model_.predict([str(t) for t in texts], show_progress_bar=False))
        return self.classes_[codes.astype(np.int64)]


@contextlib.contextmanager
def _quiet_loggers(*names):
    """Only warnings from these loggers while the block runs (SetFit logs its training set-up at INFO)."""
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def setfit(context):
    """SetFit on the labeled texts (packaged all-MiniLM-L6-v2 body, 20 pairs per text and side, one epoch)."""
    return SetFitTextClassifier(random_state=context["seed"])
