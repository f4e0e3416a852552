"""Issue 6's done criterion, read from a robustness benchmark's results.json.

Per case: the best mean of the simple alternatives (teacher alone, logistic regression on the labels, the
supervised-only student), ZeroMatch's mean, the margin, and whether ZeroMatch is within one point. Because a
case's label draws are shared by every method, it also prints the paired difference per draw (ZeroMatch minus that
best alternative, draw by draw) with its standard error, and how many draws lose by more than a point.

    python studies/robustness_criterion.py benchmark_results/robustness/results.json
    python studies/robustness_criterion.py benchmark_results/robustness_10_draws/results.json

``robustness_criterion_results.txt`` holds both printouts.
"""

import collections
import json
import sys

import numpy as np

SIMPLE = ("teacher alone", "logistic regression", "supervised student")


def main(path, method="ZeroMatch"):
    with open(path) as fh:
        results = json.load(fh)
    acc = collections.defaultdict(dict)
    for run in results["runs"]:
        if run["accuracy"] is not None:
            acc[(run["dataset"], run["method"])][run["seed"]] = run["accuracy"]
    cases = list(dict.fromkeys(run["dataset"] for run in results["runs"]))
    print(path)
    print(f"{'case':36s} {'best simple':>26s} {method:>9s} {'margin':>7s} {'pass':>5s}  paired (se)   lost >1 pt")
    n_pass = 0
    for case in cases:
        means = {m: np.mean(list(acc[(case, m)].values())) for m in SIMPLE if acc.get((case, m))}
        best = max(means, key=means.get)
        zm = acc[(case, method)]
        seeds = sorted(zm)
        diff = np.array([zm[s] - acc[(case, best)][s] for s in seeds])
        margin = np.mean(list(zm.values())) - means[best]
        ok = margin >= -0.01
        n_pass += ok
        se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
        print(
            f"{case:36s} {best + f' {means[best]:.3f}':>26s} {np.mean(list(zm.values())):9.3f} "
            f"{100 * margin:+7.1f} {'yes' if ok else 'NO':>5s}  {100 * diff.mean():+5.1f} ({100 * se:.1f})"
            f"   {int((diff < -0.01).sum())} of {len(diff)}"
        )
    print(f"{n_pass} of {len(cases)} cases within one point ({len(seeds)} draws each)")


if __name__ == "__main__":
    for p in sys.argv[1:]:
        main(p)
        print()
