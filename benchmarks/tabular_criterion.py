"""Issue 23's done criterion, read from the tabular benchmark's results.json files.

Per dataset and label budget: the best mean of the alternatives (teacher alone, logistic regression, gradient
boosting, LabelSpreading, self-training, KD only), the mean of ``--method`` (default ``ZeroMatch``), and their
paired difference over the shared label draws, with its standard error. ``--extra`` adds the runs of other
results.json files first (the same draws, other methods or a rerun of one).

    python benchmarks/tabular_criterion.py benchmarks/results/tabular
    python benchmarks/tabular_criterion.py --extra benchmarks/results/tabular_auto_views -- benchmarks/results/tabular

``tabular_criterion_results.txt`` holds the printouts.
"""

import argparse
import collections

import numpy as np

from zeromatch_sk.benchmark._runner import load_results

ALTERNATIVES = (
    "teacher alone", "logistic regression", "gradient boosting", "LabelSpreading", "self-training", "KD only",
)  # fmt: skip


def main():
    p = argparse.ArgumentParser()
    p.add_argument("paths", nargs="+")
    p.add_argument("--extra", nargs="*", default=[])
    p.add_argument("--method", default="ZeroMatch")
    args = p.parse_args()
    for path in args.paths:
        acc = collections.defaultdict(dict)
        runs = load_results(path).runs
        for extra in args.extra:  # a rerun's runs replace the committed ones of the same method
            runs = [r for r in runs if r["method"] not in {e["method"] for e in load_results(extra).runs}]
            runs += load_results(extra).runs
        for r in runs:
            acc[(r["dataset"], r["budget"], r["method"])][r["seed"]] = r["accuracy"]
        cells = list(dict.fromkeys((d, b) for d, b, _ in acc))
        print(f"{path}{' with ' + ' '.join(args.extra) if args.extra else ''}: {args.method}")
        print(
            f"{'case':26s} {'budget':>6s} {'best alternative':>22s}  mean   {args.method[:10]:>10s} paired (se)"
        )
        passed = 0
        for d, b in cells:
            mine = acc.get((d, b, args.method))
            if not mine:
                continue
            alts = {m: acc[(d, b, m)] for m in ALTERNATIVES if (d, b, m) in acc}
            best = max(alts, key=lambda m: np.mean(list(alts[m].values())))
            seeds = sorted(set(mine) & set(alts[best]))
            diff = 100 * np.array([mine[s] - alts[best][s] for s in seeds])
            se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
            ok = diff.mean() > -1
            passed += ok
            print(
                f"{d:26s} {b:6d} {best:>22s} {np.mean(list(alts[best].values())):.3f}  "
                f"{np.mean(list(mine.values())):.3f}  {diff.mean():+5.1f} ({se:.1f}) {'yes' if ok else 'NO'}"
            )
        print(f"{passed} of {len(cells)} cells within one point\n")


if __name__ == "__main__":
    main()
