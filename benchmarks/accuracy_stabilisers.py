"""Which stabiliser lifts accuracy on the four text cells (issue 22)? Validation slices only.

One question: does an exponential moving average (EMA) of the student's weights, soft teacher targets,
or averaging two students lift ZeroMatch above today's defaults on AG News 40/200 and TREC 60/300?

Each draw fits the defaults and ``kd_target='soft'`` on ``validation_view`` (never the evaluation rows).
During each fit a recorder keeps EMAs of the stage-2 weights at several momenta (bias-corrected warm-up:
the momentum at step t is ``min(m, (1 + t) / (10 + t))``), so one fit scores the raw student and each EMA.
"two students" averages the probabilities of the default and the soft fit (twice the fit time).

    python benchmarks/accuracy_stabilisers.py run 0,1,2,3,4 OUT.jsonl [CACHE_DIR]
    python benchmarks/accuracy_stabilisers.py summary OUT.jsonl > OUT_summary.txt

``accuracy_stabilisers_results.jsonl`` holds the committed run (5 draws, about 9 minutes on 2 cores) and
``accuracy_stabilisers_summary.txt`` its summary; ``summary`` prints the mean accuracy and the
mean paired difference to the defaults (with its standard error) per cell and on the mean of the four cells.
"""

import collections
import copy
import json
import sys
import time
import warnings

import numpy as np
from joblib import Parallel, delayed

CELLS = [("ag_news", 40), ("ag_news", 200), ("trec", 60), ("trec", 300)]
MOMENTA = (0.99, 0.995, 0.999)
FITS = {"default": {}, "soft": {"kd_target": "soft"}}


def make_recorder():
    import torch
    from skorch.callbacks import Callback

    class EMARecorder(Callback):
        """EMAs of the stage-2 weights at several momenta, restarted with each stage-2 run."""

        def initialize(self):
            self.shadows_, self.run_, self.t_ = {}, None, 0
            return self

        def on_batch_end(self, net, **kwargs):
            if net.stage_ != 2:
                return
            params = dict(net.module_.named_parameters())
            if self.run_ != net.stage_run_:
                self.run_, self.t_ = net.stage_run_, 0
                self.shadows_ = {m: {k: p.detach().clone() for k, p in params.items()} for m in MOMENTA}
            self.t_ += 1
            with torch.no_grad():
                for m, shadow in self.shadows_.items():
                    decay = min(m, (1 + self.t_) / (10 + self.t_))
                    for k, p in params.items():
                        shadow[k].mul_(decay).add_(p.detach(), alpha=1 - decay)

    return EMARecorder()


def job(name, budget, seed, fit, cache):
    import torch

    from zeromatch_sk import ZeroMatchClassifier
    from zeromatch_sk.benchmark import load_dataset, semi_supervised_labels, validation_view

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    ds = validation_view(load_dataset(name, cache_dir=cache, verbose=0))
    _lab, y = semi_supervised_labels(ds, budget, seed)
    pool, X_val, y_val = ds.pool_idx, ds.X[ds.eval_idx], ds.y[ds.eval_idx]
    recorder = make_recorder()
    t0 = time.perf_counter()
    est = ZeroMatchClassifier(random_state=seed, callbacks=[recorder], **FITS[fit])
    est.fit(ds.X[pool], y, pseudo_labels=ds.teacher_proba[pool])
    seconds = time.perf_counter() - t0
    probas = {fit: est.predict_proba(X_val)}
    module = est.net_.module_
    raw = copy.deepcopy(module.state_dict())
    for m, shadow in recorder.shadows_.items():
        module.load_state_dict({**raw, **shadow})
        probas[f"{fit}+ema{m}"] = est.predict_proba(X_val)
    module.load_state_dict(raw)
    acc = {k: float((est.classes_[p.argmax(1)] == y_val).mean()) for k, p in probas.items()}
    return dict(name=name, budget=budget, seed=seed, fit=fit, seconds=round(seconds, 1), acc=acc,
                proba={k: p.round(4).tolist() for k, p in probas.items()}, y=y_val.tolist())  # fmt: skip


def run(seeds, out, cache=None):
    jobs = [(n, b, s, f) for n, b in CELLS for s in seeds for f in FITS]
    results = Parallel(n_jobs=2, verbose=5)(delayed(job)(*j, cache) for j in jobs)
    compact(results, out)


def compact(records, out):
    """One line per (cell, seed): every variant's accuracy (the two-student averages included) and fit seconds.

    The probabilities the two-student averages need are dropped here: they would make the file megabytes.
    """
    acc, seconds = _variants(records), collections.defaultdict(dict)
    for r in records:
        seconds[(r["name"], r["budget"], r["seed"])][r["fit"]] = r["seconds"]
    with open(out, "w") as fh:
        for (name, budget, seed), variants in sorted(acc.items()):
            line = dict(
                name=name, budget=budget, seed=seed, acc=variants, seconds=seconds[(name, budget, seed)]
            )
            fh.write(json.dumps(line) + "\n")


def _variants(records):
    """Accuracy per (cell, seed, variant), the two-student averages included."""
    by = collections.defaultdict(dict)
    for r in records:
        by[(r["name"], r["budget"], r["seed"])][r["fit"]] = r
    acc = collections.defaultdict(dict)
    for key, fits in by.items():
        y = np.asarray(fits["default"]["y"])
        for fit in fits.values():
            acc[key].update(fit["acc"])
        pairs = [("default", "soft")] + [(f"default+ema{m}", f"soft+ema{m}") for m in MOMENTA]
        for a, b in pairs:
            if a in fits["default"]["proba"] and b in fits.get("soft", {}).get("proba", {}):
                p = np.asarray(fits["default"]["proba"][a]) + np.asarray(fits["soft"]["proba"][b])
                acc[key][f"two students ({a} + {b})"] = float((p.argmax(1) == y).mean())
    return acc


def summary(path):
    with open(path) as fh:
        records = [json.loads(line) for line in fh]
    acc = {(r["name"], r["budget"], r["seed"]): r["acc"] for r in records}
    seconds = collections.defaultdict(list)
    for r in records:
        for fit, s in r["seconds"].items():
            seconds[fit].append(s)
    variants = sorted({v for a in acc.values() for v in a}, key=lambda v: (len(v), v))
    print("mean accuracy on the validation rows; diff = mean paired difference to 'default' +- its se")
    for variant in variants:
        cells, line = [], []
        for name, budget in CELLS:
            keys = [k for k in acc if k[:2] == (name, budget) and variant in acc[k]]
            d = np.array([acc[k][variant] - acc[k]["default"] for k in keys])
            cells.append(d)
            line.append(f"{name} {budget}: {np.mean([acc[k][variant] for k in keys]):.3f} "
                        f"({100 * d.mean():+.2f} +- {100 * d.std(ddof=1) / np.sqrt(len(d)):.2f})")  # fmt: skip
        per_seed = np.mean(np.stack(cells), axis=0)
        se = 100 * per_seed.std(ddof=1) / np.sqrt(len(per_seed))
        print(
            f"{variant}\n  mean of the four cells {100 * per_seed.mean():+.2f} +- {se:.2f} points; "
            + "; ".join(line)
        )
    for fit, s in seconds.items():
        print(
            f"fit seconds, {fit}: mean {np.mean(s):.1f} over {len(s)} fits (1 torch thread, 2 jobs side by side)"
        )


if __name__ == "__main__":
    if sys.argv[1] == "summary":
        summary(sys.argv[2])
    else:
        run([int(s) for s in sys.argv[2].split(",")], sys.argv[3], *sys.argv[4:5])
