"""
Accuracy against the label budget
=================================

How many labels does ZeroMatch save? The benchmark
(``python -m zeromatch_sk.benchmark``, or ``make benchmark``) trains every
method at several label budgets and seeds and writes
``benchmarks/results/results.json``;
:func:`~zeromatch_sk.plotting.plot_budget_curve` draws one line per method
against the budget, with a band of one standard deviation over seeds.

This example plots the repository's ``benchmarks/results/results.json`` when
there is one. Otherwise it makes a small benchmark of its own on
scikit-learn's digits with a simulated teacher, through
:func:`zeromatch_sk.benchmark.benchmark_arrays` (the same machinery,
on your own arrays).
"""

# %%
# Results from the benchmark, or a small run
# ------------------------------------------
import json
from pathlib import Path

try:  # run as a script, or by the documentation build
    repo = Path(__file__).resolve().parent.parent
except NameError:  # pasted into a notebook
    repo = Path.cwd()
results_file = repo / "benchmarks/results" / "results.json"

if results_file.is_file():
    results = json.loads(results_file.read_text())
    print(f"Results of `python -m zeromatch_sk.benchmark` from {results_file.relative_to(repo)}:")
    print(f"{len(results.get('runs', []))} runs over seeds {results.get('config', {}).get('seeds')}")
else:
    # Digits (1,797 images of 8x8 pixels, 10 classes) with a simulated
    # teacher that is right 70 % of the time and otherwise names a random
    # other class. Budgets are numbers of labeled rows (balanced over the
    # classes); accuracy is measured on held-out rows no method trains on.
    # The students train for a few epochs only, to keep the example short:
    # this run shows the plot, it is not the benchmark's verdict.
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    from zeromatch_sk.benchmark import benchmark_arrays, default_methods, synthetic_teacher

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    P = synthetic_teacher(y, 10, accuracy=0.7, random_state=0)
    keep = {"teacher alone", "logistic regression", "supervised student", "ZeroMatch"}
    table = benchmark_arrays(
        X, y, P, budgets=[20, 50, 100], seeds=2, name="digits, teacher 70 %",
        methods=[m for m in default_methods() if m.name in keep],
        student_params={"hidden_layer_sizes": (128,), "kd_epochs": 5, "max_epochs": 8},
        progress=False,
    )  # fmt: skip
    results = table  # a pandas DataFrame: one row per dataset, budget and method
    print(table[["budget", "method", "accuracy_mean", "accuracy_std"]].round(3).to_string(index=False))

# %%
# The curves
# ----------
# One panel per dataset. The teacher needs no labels, so its line is flat
# apart from the noise of the evaluation rows. Where ZeroMatch's line lies
# above both the teacher's and the supervised ones, the combination is
# worth more than either source alone; the budget where the supervised line
# catches up is the number of labels the teacher was worth.
from zeromatch_sk.plotting import plot_budget_curve

fig = plot_budget_curve(results)

# %%
# A subset of methods or datasets, and another score, are one argument away:
# ``plot_budget_curve("benchmarks/results/results.json", methods=["ZeroMatch",
# "AdaMatch"], datasets=["ag_news"], metric="macro_f1")`` (the benchmark's
# summary also records ``macro_f1_mean``).
