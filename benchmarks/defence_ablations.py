"""What each defence contributed: ZeroMatch with the defaults minus the same with one defence switched off.

Reads the robustness benchmark's results.json (``benchmarks/results/robustness`` by default; any results folder with
``ZeroMatch`` and ``ZeroMatch, <ablation>`` rows) and prints, per ablation row, the paired difference in points
(defaults minus ablation, mean over the shared draws) on every case, so that ``docs/robustness.rst``'s "what each
defence contributed" list comes from a command. Positive: the defence helped.

    python benchmarks/defence_ablations.py [RESULTS ...]

``defence_ablations_results.txt`` is one run on ``benchmarks/results/robustness`` and on
``benchmarks/results/robustness_10_draws_gate`` (with ``--extra benchmarks/results/robustness_10_draws`` for the
defaults' ten draws).
"""

import argparse

# robustness_criterion.py sits in this folder, which is on sys.path when this runs as a script.
from robustness_criterion import METHOD, accuracies, paired


def main(path, extra=()):
    acc, cases = accuracies(path, extra)
    ablations = list(dict.fromkeys(m for _, m in acc if m.startswith(METHOD + ", ")))
    print(path if not extra else f"{path} with {', '.join(extra)}")
    print("defaults minus ablation, points (draws)")
    for ablation in ablations:
        cells, same = [], 0
        for case in cases:
            zm, other = acc.get((case, METHOD), {}), acc.get((case, ablation), {})
            if not set(zm) & set(other):
                continue
            diffs, mean, _se = paired(zm, other)
            if abs(mean) < 0.05:
                same += 1
            else:
                cells.append(f"{case} {mean:+.1f} ({len(diffs)} draws)")
        cells.append(f"within 0.05 points on {same} more case(s)")
        print(f"{ablation}:\n    " + "\n    ".join(cells))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("results", nargs="*", default=["benchmarks/results/robustness"])
    parser.add_argument("--extra", nargs="*", default=[], help="results.json files whose runs are added")
    args = parser.parse_args()
    for p in args.results:
        main(p, args.extra)
        print()
