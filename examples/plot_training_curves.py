"""
Reading the training curves and the teacher diagnostics
=======================================================

A fitted :class:`~zeromatch_sk.ZeroMatchClassifier` keeps one row per epoch
in ``history_`` and a few numbers about its teacher. This example trains one
on news articles and shows how to read them with
:func:`~zeromatch_sk.plotting.plot_history` and
:func:`~zeromatch_sk.plotting.plot_teacher_student_confusion`.

The data are the 2,000 AG News articles bundled with the package (four
topics), embedded with all-MiniLM-L6-v2; the teacher is the same model
scoring one prompt per topic, which is right about three times in four.
Only 5 articles per topic are labeled.
"""

# %%
# Data, embeddings and teacher
# ----------------------------
# ``memory=`` caches the embeddings on disk, so a second run skips the
# slowest step (embedding 2,000 texts on a CPU).
import os
import tempfile

import numpy as np

from zeromatch_sk.datasets import load_ag_news_sample
from zeromatch_sk.embedders import SentenceEmbedder
from zeromatch_sk.providers import SentenceTransformerProvider

news = load_ag_news_sample()
topics = news.target  # object array of topic names
cache = os.path.join(tempfile.gettempdir(), "zeromatch_sk-examples")
X = SentenceEmbedder(memory=cache, verbose=0).fit_transform(news.data)

rng = np.random.default_rng(0)
y = np.full(len(topics), -1, dtype=object)  # -1 marks unlabeled rows
for topic in np.unique(topics):
    y[rng.choice(np.flatnonzero(topics == topic), size=5, replace=False)] = topic
print(f"{X.shape[0]} articles, {(y != -1).sum()} labeled, embeddings of width {X.shape[1]}")

teacher = SentenceTransformerProvider(template=news.template, class_names=news.class_names, verbose=0)

# %%
# Fit
# ---
# A shorter run than the defaults (10 + 15 epochs instead of 20 + 60) keeps
# the example quick; ``verbose=1`` would print one line per epoch.
from zeromatch_sk import ZeroMatchClassifier

clf = ZeroMatchClassifier(provider=teacher, kd_epochs=10, max_epochs=15, random_state=0)
clf.fit(X, y)

unlabeled = y == -1
student_acc = np.mean(clf.transduction_[unlabeled] == topics[unlabeled])
teacher_acc = np.mean(clf.classes_[clf.teacher_proba_raw_.argmax(1)][unlabeled] == topics[unlabeled])
print(f"teacher on the unlabeled rows: {teacher_acc:.3f}")
print(f"student on the unlabeled rows: {student_acc:.3f}")

# %%
# The training curves
# -------------------
# One panel per quantity, one point per epoch; the shaded part is stage 1.
from zeromatch_sk.plotting import plot_history

fig = plot_history(clf)

# %%
# How to read them:
#
# - **Stage 1** (shaded) only distils the teacher: ``loss_kd`` is the whole
#   loss, and *agreement with teacher* measures how often the student
#   repeats the teacher on the hold-out. The best stage-1 epoch by that
#   agreement is the one stage 2 starts from.
# - **Stage 2** adds the supervised loss ``loss_sup`` on the few labels
#   (it quickly drops near 0: 20 labels are easy to fit) and the
#   consistency loss ``loss_unsup`` on strong views of unlabeled rows.
#   ``loss_kd`` jumps when stage 2 starts: it is now measured on the new
#   auxiliary head, which starts from random weights. The learning rate
#   jumps back to its peak too: each stage has its own schedule.
# - The **mask ratio** is the fraction of unlabeled rows confident enough to
#   count in ``loss_unsup``; the **threshold** is that confidence bar, 0.95
#   times the mean confidence on labeled rows. A mask ratio stuck near 0
#   means the consistency loss does nothing; stuck at 1 from the first epoch
#   on hard data means the threshold lets everything through.
# - **alpha** ramps the stage-2 distillation weight from 0 to 1, so the
#   teacher's influence grows while the learning rate decays.
# - *Agreement with teacher* during stage 2 shows the student leaving its
#   teacher where labels and unlabeled structure disagree with it: it
#   should fall below its stage-1 level, but not collapse.
#
# The same numbers are in ``clf.history_``, e.g. the mask ratio per epoch:
print(np.round(clf.history_[:, "mask_ratio"], 2))

# %%
# Teacher and student against the truth
# -------------------------------------
# The true topics of every row are known here (the example hid most of
# them), so both can be compared with the truth, row by row. Rows are true
# topics, columns the predicted ones; each row sums to 1.
from zeromatch_sk.plotting import plot_teacher_student_confusion

fig = plot_teacher_student_confusion(clf, y_true=topics)

# %%
# Without the truth, the same function shows where the student overrules
# its teacher: rows are the teacher's topics, columns the student's.
fig = plot_teacher_student_confusion(clf)

# %%
# Two numbers summarise the teacher without any plot:
# ``teacher_accuracy_`` is its accuracy on the labeled rows (here only 20,
# so a rough estimate), ``teacher_agreement_`` the fraction of unlabeled
# rows where the student predicts the teacher's class.
print(f"teacher_accuracy_  = {clf.teacher_accuracy_:.3f}")
print(f"teacher_agreement_ = {clf.teacher_agreement_:.3f}")
