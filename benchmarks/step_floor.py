"""Which stage-2 step budget keeps small fits cheap without costing small pools accuracy? (issue 21.3)

Before issue 21.3, stage 2 ran ``max(ceil(n / (batch_size * uratio)), 20)`` steps per epoch for 60 epochs, so every
pool under 3,840 rows cost the same 1,200 steps (a 200-row fit cost 0.76x a 5,000-row one, ``small_fit_cost_results.txt``).
This study fits ZeroMatch with the library's defaults under several rules (``SMALL_DATA_STEPS``, patched in this
process only) on every benchmark case whose pool is small enough to be affected (the bundled demo sample, the
digits cells, the robustness cases and the tabular cases: the AG News and TREC cells of the main benchmark have pools
of 5,700 and 4,965 rows and do not change), and prints each case's mean accuracy and its paired difference to the
rule before, with the standard error. The rules: ``floorF`` is ``max(one pass, F)`` (``floor20`` the rule before);
``capped`` is ``max(one pass, min(ceil(n / batch_size), 20))``; ``library`` is the library as it is (adopted:
``ceil(n / batch_size)`` clipped to 5..20 when one pass is shorter).

    # choose on validation slices of the training pools (never the evaluation rows), 5 draws:
    python benchmarks/step_floor.py run --validation --rule floor5 --seeds 0-4 --out F5.jsonl [--shard 0/2]
    # check the choice on the evaluation rows, 10 draws:
    python benchmarks/step_floor.py run --rule library --seeds 0-9 --cases tabular-iris ... --out eval.jsonl
    python benchmarks/step_floor.py summary F20.jsonl F5.jsonl ...

Each process runs one fit at a time on one torch thread; run two shards side by side on two cores.
``step_floor_results.txt`` holds the committed summaries, ``step_floor_runs.jsonl`` the runs behind them (the
``validation`` field tells the two apart; ``floor`` names the rule).
"""

from __future__ import annotations

import argparse
import collections
import json
import warnings

import numpy as np

CASES = (
    ["ag_news_sample", "digits-teacher0.8", "digits-random-teacher"]
    + [f"ag_news-business-1:{r}-{s}" for r in (4, 9) for s in ("balanced", "random")]
    + [f"ag_news-sports-1:9-biased-{s}" for s in ("balanced", "random")]
    + [f"trec-longtail-{s}" for s in ("balanced", "random")]
    + [f"fortunes-{c}-{s}" for c in ("computers-1:7", "topics") for s in ("balanced", "random")]
    + ["digits-biased-teacher"]
    + [f"tabular-{t}" for t in ("iris", "wine", "breast_cancer", "penguins", "digits")]
)


def seeds_arg(text):
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


#: Each rule as the library's ``SMALL_DATA_STEPS`` range of ``_training.stage2_steps_per_epoch``: ``(F, F)`` is
#: ``max(one pass, F)``, ``(1, 20)`` caps ``ceil(n / batch_size)`` at 20; ``library`` leaves the range as it is.
RULES = {"floor20": (20, 20), "floor5": (5, 5), "capped": (1, 20), "library": None}


def run(args):
    import torch

    import zeromatch_sk._classifier as classifier_module
    from zeromatch_sk.benchmark import load_dataset, validation_view
    from zeromatch_sk.benchmark._methods import default_methods, run_one

    torch.set_num_threads(1)
    if RULES[args.rule] is not None:  # read by every fit's training plan
        classifier_module.SMALL_DATA_STEPS = RULES[args.rule]
    method = next(m for m in default_methods() if m.name == "ZeroMatch")
    index, count = (int(v) for v in args.shard.split("/"))
    tasks = []
    for name in args.cases or CASES:
        for budget in load_dataset(name, verbose=0).budgets:
            tasks += [(name, budget, seed) for seed in args.seeds]
    loaded = {}
    with open(args.out, "a") as fh:
        for name, budget, seed in tasks[index::count]:
            if name not in loaded:
                ds = load_dataset(name, verbose=0)
                loaded[name] = validation_view(ds) if args.validation else ds
            ds = loaded[name]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = run_one(ds, budget, seed, method, torch_threads=1)
            line = dict(case=name, budget=budget, seed=seed, floor=args.rule, validation=args.validation,
                        accuracy=r["accuracy"], fit_seconds=r["fit_seconds"])  # fmt: skip
            fh.write(json.dumps(line) + "\n")
            fh.flush()


def summary(paths, baseline="floor20"):
    acc = collections.defaultdict(dict)
    seconds = collections.defaultdict(list)
    for path in paths:
        with open(path) as fh:
            for r in map(json.loads, fh):
                acc[(r["case"], r["budget"], r["floor"])][r["seed"]] = r["accuracy"]
                seconds[r["floor"]].append(r["fit_seconds"])
    floors = sorted({f for *_, f in acc}, key=lambda f: f != baseline)
    cells = list(dict.fromkeys((c, b) for c, b, _ in acc))
    print("mean accuracy; paired difference to", baseline, "in points (se); worst cell per floor at the end")
    print(f"{'case':36s} {'budget':>6s} " + " ".join(f"{f:>20s}" for f in floors))
    worst = {f: (np.inf, None) for f in floors}
    means = {f: [] for f in floors}
    for c, b in cells:
        base = acc.get((c, b, baseline), {})
        parts = []
        for f in floors:
            mine = acc.get((c, b, f), {})
            seeds = sorted(set(mine) & set(base))
            if not mine or not seeds:
                parts.append(f"{'':>20s}")
                continue
            d = 100 * np.array([mine[s] - base[s] for s in seeds])
            se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
            parts.append(f"{np.mean(list(mine.values())):.3f} {d.mean():+5.1f} ({se:3.1f})")
            means[f].append(d.mean())
            if d.mean() < worst[f][0]:
                worst[f] = (d.mean(), f"{c} {b}")
        print(f"{c:36s} {b:6d} " + " ".join(parts))
    for f in floors:
        s = [v for v in seconds[f] if v is not None]
        print(
            f"{f}: mean paired difference over the cells {np.mean(means[f]):+.2f} points; worst cell "
            f"{worst[f][0]:+.1f} ({worst[f][1]}); mean fit {np.mean(s):.1f} s over {len(s)} fits"
        )


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument(
        "--rule", required=True, choices=RULES, help="floor20 is the rule before; library as it is"
    )
    r.add_argument("--seeds", type=seeds_arg, default=seeds_arg("0-4"))
    r.add_argument("--validation", action="store_true")
    r.add_argument("--cases", nargs="*", default=None)
    r.add_argument("--shard", default="0/1", help="i/n: run every n-th task starting at i")
    r.add_argument("--out", required=True)
    s = sub.add_parser("summary")
    s.add_argument("paths", nargs="+")
    s.add_argument("--baseline", default="floor20")
    args = p.parse_args()
    if args.cmd == "run":
        run(args)
    else:
        summary(args.paths, args.baseline)


if __name__ == "__main__":
    main()
