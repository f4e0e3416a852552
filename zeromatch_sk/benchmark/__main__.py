"""Command line: ``python -m zeromatch_sk.benchmark [--quick | --speed | --embed-only] [options]``.

Examples::

    python -m zeromatch_sk.benchmark --quick                      # the demo, a few minutes on 2 cores
    python -m zeromatch_sk.benchmark --n-jobs 12                  # everything: AG News, TREC, digits
    python -m zeromatch_sk.benchmark --datasets trec --budgets 60 --seeds 5
    python -m zeromatch_sk.benchmark --robustness --n-jobs 2      # imbalance, label sampling, weak teachers
    python -m zeromatch_sk.benchmark --embed-only                 # only fill the embedding cache
    python -m zeromatch_sk.benchmark --speed                      # throughput against the floor
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time
from pathlib import Path

QUICK_DATASET = "ag_news_sample"
QUICK_BUDGET = 40
QUICK_SEEDS = 3


def _param(text: str):
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, e.g. max_epochs=30, got {text!r}")
    try:
        value = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        pass  # a bare string, e.g. strong_augment=scarf
    return key, value


def build_parser() -> argparse.ArgumentParser:
    from ._datasets import DATASET_ALIASES, DATASETS, DEFAULT_DATASETS

    p = argparse.ArgumentParser(
        prog="python -m zeromatch_sk.benchmark",
        description=(
            "Benchmark ZeroMatch against the alternatives (teacher alone, supervised baselines, scikit-learn's "
            "semi-supervised estimators, naive pseudo-labelling, KD only, AdaMatch, ablations) on real text with "
            "a real zero-shot teacher, and on digits with synthetic teachers. Writes results.md, results.json "
            "and accuracy.png to --out."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:" + __doc__.split("Examples::", 1)[1].rstrip(),
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help=f"the demo: the bundled AG News sample, {QUICK_BUDGET} labels, {QUICK_SEEDS} seeds, "
                           "seven methods; prints the table")  # fmt: skip
    mode.add_argument("--speed", action="store_true", help="measure stage-2 training throughput instead")
    mode.add_argument("--robustness", action="store_true",
                      help="the robustness cases: imbalanced AG News (1:4, 1:9, a biased teacher) and long-tailed "
                           "TREC, each with labels drawn balanced and at random, and digits with a biased and a "
                           "random teacher; every method plus one row per defence switched off "
                           "(default --out benchmarks/results/robustness)")  # fmt: skip
    mode.add_argument("--tabular", action="store_true",
                      help="the tabular cases: iris, wine, breast cancer, penguins (pip install palmerpenguins) "
                           "and digits, each with a rule teacher on the raw columns, 5 and 20 labels per class "
                           "(default --out benchmarks/results/tabular)")  # fmt: skip
    mode.add_argument("--embed-only", action="store_true",
                      help="only compute and cache the embeddings and teacher probabilities")  # fmt: skip
    p.add_argument("--datasets", nargs="+", metavar="NAME", default=None,
                   help=f"datasets: {', '.join(sorted(DATASETS) + sorted(DATASET_ALIASES))} "
                        f"(default: {' '.join(DEFAULT_DATASETS)})")  # fmt: skip
    p.add_argument("--budgets", nargs="+", type=int, metavar="N", default=None,
                   help="label budgets for every dataset (default: each dataset's own: AG News 40 200, "
                        "TREC 60 300, digits 50)")  # fmt: skip
    p.add_argument(
        "--seeds", type=int, default=3, help="seeds per cell: label draw and model seed (default: 3)"
    )
    p.add_argument("--methods", nargs="+", metavar="NAME", default=None,
                   help="run only these methods (names as in the table, quoted)")  # fmt: skip
    p.add_argument("--out", default=None,
                   help="output folder (default: benchmarks/results; benchmarks/results/quick with --quick, "
                        "benchmarks/results/robustness with --robustness)")  # fmt: skip
    p.add_argument("--cache-dir", default=None,
                   help="embedding cache folder (default: $ZEROMATCH_CACHE or ~/.cache/zeromatch_sk)")  # fmt: skip
    p.add_argument("--n-jobs", type=int, default=None,
                   help="runs in parallel processes, one torch thread each (default: 2 with --quick "
                        "when there are 2+ cores, else 1; -1: all cores)")  # fmt: skip
    p.add_argument("--max-rows", type=int, default=None,
                   help="shrink every dataset to about this many rows (stratified), for trials")  # fmt: skip
    p.add_argument(
        "--device", default="cpu", help="torch device of the students: cpu, cuda, mps (default: cpu)"
    )
    p.add_argument("--param", type=_param, action="append", default=[], metavar="KEY=VALUE",
                   help="ZeroMatchClassifier parameter for every student, e.g. --param max_epochs=30 "
                        "(repeatable; a method's own ablation parameters still win)")  # fmt: skip
    p.add_argument("--validation", action="store_true",
                   help="score on a validation slice carved from each training pool instead of the evaluation "
                        "rows (for choosing hyper-parameters; the evaluation rows stay untouched)")  # fmt: skip
    p.add_argument("--update", action="store_true",
                   help="merge into the results already in --out: the (dataset, method) cells run now replace "
                        "theirs, every other cell is kept (for rerunning a few methods after a change)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    g = p.add_argument_group("--speed options")
    g.add_argument(
        "--speed-rows", type=int, default=20_000, help="rows of the throughput comparison (default: 20000)"
    )
    g.add_argument("--speed-steps", type=int, default=600, help="stage-2 steps timed per loop (default: 600)")
    g.add_argument("--speed-sizes", nargs="*", type=int, default=[5_000, 10_000, 20_000, 40_000, 80_000],
                   help="row counts of the fit-time scaling; give none to skip (default: 5000 ... 80000)")  # fmt: skip
    g.add_argument(
        "--profile", action="store_true", help="also print cProfile summaries of both stage-2 loops"
    )
    return p


def _speed(args) -> int:
    from ._speed import profile_stage2, speed_benchmark, speed_markdown

    print(f"Speed: {args.speed_rows:,} rows, {args.speed_steps} stage-2 steps per loop, device {args.device}",
          flush=True)  # fmt: skip
    report = speed_benchmark(args.speed_rows, steps=args.speed_steps, sizes=args.speed_sizes, device=args.device,
                             log=None if args.quiet else (lambda s: print(s, flush=True)))  # fmt: skip
    text = speed_markdown(report)
    out = Path(args.out or "benchmarks/results").expanduser()
    out.mkdir(parents=True, exist_ok=True)
    (out / "speed.md").write_text(text, encoding="utf-8")
    (out / "speed.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(text)
    if args.profile:
        prof = profile_stage2(args.speed_rows, steps=min(args.speed_steps, 300), device=args.device)
        (out / "speed_profile.txt").write_text(prof, encoding="utf-8")
        print(prof)
    print(f"Wrote {out / 'speed.md'} and {out / 'speed.json'}")
    return 0


def _mode(args):
    """Datasets, budgets, methods, worker count and output folder of the mode ``args`` asks for."""
    from ._datasets import DEFAULT_DATASETS, expand_dataset_names
    from ._methods import default_methods, quick_methods, robustness_methods, tabular_methods

    if args.quick:
        datasets, methods, out = [QUICK_DATASET], quick_methods(), "benchmarks/results/quick"
    elif args.robustness:
        datasets, methods, out = ["robustness"], robustness_methods(), "benchmarks/results/robustness"
    elif args.tabular:
        datasets, methods, out = ["tabular"], tabular_methods(), "benchmarks/results/tabular"
    else:
        datasets, methods, out = list(DEFAULT_DATASETS), default_methods(), "benchmarks/results"
    budgets = args.budgets or ([QUICK_BUDGET] if args.quick else None)
    default_jobs = 2 if args.quick and (os.cpu_count() or 1) >= 2 else 1
    n_jobs = args.n_jobs if args.n_jobs is not None else default_jobs
    # The demo writes beside, not over, the committed full results.
    return expand_dataset_names(args.datasets or datasets), budgets, methods, n_jobs, args.out or out


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if args.speed:
        return _speed(args)

    from ._datasets import load_dataset, validation_view
    from ._methods import default_methods, robustness_methods, tabular_methods
    from ._runner import run_benchmark

    names, budgets, methods, n_jobs, out = _mode(args)
    if args.methods:
        known = {m.name: m for m in default_methods() + robustness_methods() + tabular_methods()}
        unknown = [m for m in args.methods if m not in known]
        if unknown:
            print(f"Unknown methods {unknown}; choose from {list(known)}.", file=sys.stderr)
            return 2
        methods = [known[m] for m in args.methods]
    student_params = dict(args.param)
    if args.device != "cpu":
        student_params.setdefault("device", args.device)

    t0 = time.perf_counter()
    verbose = 0 if args.quiet else 1
    datasets = []
    for name in names:
        t = time.perf_counter()
        ds = load_dataset(name, cache_dir=args.cache_dir, verbose=verbose, max_rows=args.max_rows)
        if args.validation:
            ds = validation_view(ds)
        hit = ds.info.get("cache_hit")
        how = "" if hit is None else (" (embeddings from the cache)" if hit else " (embedded and cached)")
        print(
            f"{name}: {len(ds.pool_idx)} pool + {len(ds.eval_idx)} evaluation rows, {ds.n_classes} classes, "
            f"teacher accuracy {ds.teacher_accuracy():.3f}; {time.perf_counter() - t:.1f} s{how}",
            flush=True,
        )
        datasets.append(ds)
    if args.embed_only:
        return 0

    results = run_benchmark(
        datasets, methods, budgets=budgets, seeds=args.seeds, student_params=student_params, n_jobs=n_jobs,
        progress=not args.quiet,
    )  # fmt: skip
    if args.update:
        from ._runner import load_results, merge_results

        previous = Path(out) / "results.json"
        if not previous.exists():
            print(f"--update: no {previous} to update; run without --update first.", file=sys.stderr)
            return 2
        results = merge_results(load_results(previous), results)
    paths = results.write(out)
    print()
    print(results.markdown())
    print(f"Total {time.perf_counter() - t0:.0f} s. Wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
