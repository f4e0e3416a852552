"""Issue 6's done criterion, read from benchmark results.json files.

Default mode, for the robustness benchmark: per case, the best mean of the simple alternatives (teacher alone,
logistic regression on the labels, the supervised-only student), ZeroMatch's mean, the margin, and whether ZeroMatch
is within one point. Because a case's label draws are shared by every method, it also prints the paired difference
per draw (ZeroMatch minus that best alternative, draw by draw) with its standard error, how many draws lose by more
than a point, and ZeroMatch's accuracy on each draw.

``--against METHOD``, for the balanced main benchmark: ZeroMatch against one other method (``"ZeroMatch
(reference)"``), the paired difference per draw with its standard error, and how many draws lose.

    python benchmarks/robustness_criterion.py benchmarks/results/robustness benchmarks/results/robustness_10_draws
    python benchmarks/robustness_criterion.py --against "ZeroMatch (reference)" benchmarks/results/balanced_10_draws/*
    python benchmarks/robustness_criterion.py --against "supervised student" benchmarks/results/robustness_10_draws
    python benchmarks/robustness_criterion.py --against "ZeroMatch, majority gate" --extra benchmarks/results/robustness_10_draws_gate -- \
        benchmarks/results/robustness_10_draws
    python benchmarks/robustness_criterion.py --against "ZeroMatch, no gate" --extra benchmarks/results/robustness_10_draws_gate -- \
        benchmarks/results/robustness_10_draws

``--extra PATH`` adds the runs of another results.json (the same cases and draws, other methods) before comparing;
``--against`` skips the cases where the other method did not run.

``robustness_criterion_results.txt`` holds the five printouts.
"""

import argparse
import collections

import numpy as np

from zeromatch_sk.benchmark._runner import load_results

SIMPLE = ("teacher alone", "logistic regression", "supervised student")
METHOD = "ZeroMatch"


def accuracies(path, extra=()):
    """``{(dataset, method): {seed: accuracy}}`` and the datasets in order (of ``path``; ``extra`` adds runs)."""
    runs = load_results(path).runs
    cases = list(dict.fromkeys(run["dataset"] for run in runs))
    for more in extra:
        runs = runs + load_results(more).runs
    acc = collections.defaultdict(dict)
    for run in runs:
        if run["accuracy"] is not None:
            acc[(run["dataset"], run["method"])][run["seed"]] = run["accuracy"]
    return acc, cases


def paired(zm, other):
    """Per-draw differences ``zm - other`` over their shared seeds, their mean and its standard error, in points."""
    diff = 100 * np.array([zm[s] - other[s] for s in sorted(zm) if s in other])
    se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
    return diff, diff.mean(), se


def criterion(path):
    acc, cases = accuracies(path)
    print(path)
    print(f"{'case':36s} {'best simple':>26s} {METHOD:>9s} {'margin':>7s} {'pass':>5s}  paired (se)   lost >1 pt"
          f"   {METHOD} per draw")  # fmt: skip
    n_pass = 0
    for case in cases:
        means = {m: np.mean(list(acc[(case, m)].values())) for m in SIMPLE if acc.get((case, m))}
        best = max(means, key=means.get)
        zm = acc[(case, METHOD)]
        diff, mean_diff, se = paired(zm, acc[(case, best)])
        margin = np.mean(list(zm.values())) - means[best]
        ok = margin >= -0.01
        n_pass += ok
        per_draw = " ".join(f"{zm[s]:.3f}" for s in sorted(zm))
        print(
            f"{case:36s} {best + f' {means[best]:.3f}':>26s} {np.mean(list(zm.values())):9.3f} "
            f"{100 * margin:+7.1f} {'yes' if ok else 'NO':>5s}  {mean_diff:+5.1f} ({se:.1f})"
            f"   {int((diff < -1).sum())} of {len(diff)}   {per_draw}"
        )
    print(f"{n_pass} of {len(cases)} cases within one point ({len(zm)} draws each)")


def against(path, other, extra=()):
    acc, cases = accuracies(path, extra)
    print(path if not extra else f"{path} with {', '.join(extra)}")
    for case in cases:
        if not acc.get((case, other)):
            continue
        zm, ref = acc[(case, METHOD)], acc[(case, other)]
        diff, mean_diff, se = paired(zm, ref)
        print(f"{case}: {METHOD} {np.mean(list(zm.values())):.3f}, {other} {np.mean(list(ref.values())):.3f}; "
              f"paired {mean_diff:+.1f} points (se {se:.1f}), {int((diff < 0).sum())} of {len(diff)} draws lose; "
              f"per draw: {' '.join(f'{d:+.1f}' for d in diff)}")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("results", nargs="+", help="results.json files or their folders")
    parser.add_argument(
        "--against", help="compare ZeroMatch with this method instead of the simple alternatives"
    )
    parser.add_argument(
        "--extra", nargs="*", default=[], help="results.json files whose runs are added (--against)"
    )
    args = parser.parse_args()
    if args.extra and not args.against:
        parser.error("--extra goes with --against")
    for p in args.results:
        against(p, args.against, args.extra) if args.against else criterion(p)
        print()
