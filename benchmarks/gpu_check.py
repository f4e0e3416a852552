"""GPU check: a default fit on 100,000 x 384 synthetic rows, and a benchmark-like cell on CPU and GPU.

Prepared for a machine with a GPU (issue 20.2); it has to finish in under 5
minutes there. It prints, per device:

- the benchmark-like cell (default ZeroMatchClassifier, 4 classes, 40
  labels; the cached AG News embeddings with ``--cache-dir``, else a
  synthetic cell of the same size): accuracy on held-out rows, fit time and
  stage-2 rows per second, then the accuracy difference between devices,
  and the same cell with ``config_context(precision='bf16')`` and
  ``'fp16'`` on each accelerator (on CPU too with ``--half-on-cpu``) and
  their accuracy differences;
- the big fit (default parameters, ``--rows`` rows x 384, a 75 %-accurate
  synthetic teacher): fit time, stage-2 rows per second and accuracy. It
  runs on the accelerator only, unless ``cpu`` is the only device or
  ``--big-on-cpu`` is given (a default 100,000-row fit takes far longer
  than 5 minutes on CPU).

Stage-2 rows per second counts the rows each step draws (``batch_size``
labeled + ``batch_size * uratio`` unlabeled) over the stage-2 epochs'
wall time (skorch's ``dur``, which includes the per-epoch hold-out and
class-share forward passes). CPU and GPU fits use the same ``random_state``
but not the same random streams, so their accuracies differ by noise, not
by a bug; the check is that they agree within a point or two.

    python benchmarks/gpu_check.py                               # on the GPU machine
    python benchmarks/gpu_check.py --rows 2000 --device cpu      # the CPU run committed
    python benchmarks/gpu_check.py --smoke --device cpu          # seconds: tests/test_gpu_path.py
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np
import torch

from zeromatch_sk import ZeroMatchClassifier, config_context
from zeromatch_sk.benchmark import synthetic_teacher

N_FEATURES, N_CLASSES, N_LABELS, TEACHER_ACC = 384, 4, 40, 0.75
SMOKE = False  # --smoke: tiny sizes and few epochs, to test the script on CPU


def synthetic_rows(n, seed=0, spread=8.0):
    """Unit-norm rows around one random direction per class, like sentence embeddings.

    With ``spread=8`` a logistic regression on every label scores about 0.89, on 40 labels about 0.43.
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(N_CLASSES, N_FEATURES))
    y = rng.integers(N_CLASSES, size=n)
    X = centres[y] + spread * rng.normal(size=(n, N_FEATURES))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float32), y


def split_and_label(X, y, teacher, seed=0, eval_fraction=0.25):
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    n_eval = int(eval_fraction * len(y))
    ev, pool = order[:n_eval], order[n_eval:]
    y_semi = np.full(len(pool), -1)
    for c in range(N_CLASSES):
        rows = np.flatnonzero(y[pool] == c)
        y_semi[rng.choice(rows, N_LABELS // N_CLASSES, replace=False)] = c
    return (X[pool], y_semi, teacher[pool]), (X[ev], y[ev])


def benchmark_cell(cache_dir):
    if cache_dir:
        from zeromatch_sk.benchmark import load_dataset, semi_supervised_labels

        ds = load_dataset("ag_news", cache_dir=cache_dir, verbose=0)
        _, y_semi = semi_supervised_labels(ds, N_LABELS, 0)
        pool = ds.pool_idx
        return (
            "AG News (cached embeddings)",
            (ds.X[pool], y_semi, ds.teacher_proba[pool]),
            (ds.X[ds.eval_idx], ds.y[ds.eval_idx]),
        )
    X, y = synthetic_rows(400 if SMOKE else 7600, seed=1)
    return "synthetic, AG News-sized (5,700 training + 1,900 held-out rows)", *split_and_label(
        X, y, synthetic_teacher(y, N_CLASSES, TEACHER_ACC, random_state=1), seed=1
    )


def timed_fit(train, evaluation, device, seed=0, precision="float32"):
    X, y, teacher = train
    quick = dict(kd_epochs=2, max_epochs=3) if SMOKE else {}
    clf = ZeroMatchClassifier(device=device, random_state=seed, **quick)
    with warnings.catch_warnings(), config_context(precision=precision):
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        clf.fit(X, y, pseudo_labels=teacher)
        seconds = time.perf_counter() - t0
    stage2 = [row for row in clf.history_ if row["stage"] == 2]
    rows_per_step = clf.batch_size * (1 + clf.uratio)
    steps = sum(len(row["batches"]) for row in stage2)
    rate = steps * rows_per_step / max(sum(row["dur"] for row in stage2), 1e-9)
    accuracy = float(np.mean(clf.predict(evaluation[0]) == evaluation[1]))
    return dict(accuracy=accuracy, seconds=seconds, rate=rate, epochs=len(clf.history_))


def report(label, device, r):
    print(f"  {label:5s} {device:10s}  accuracy {r['accuracy']:.4f}  fit {r['seconds']:7.1f} s  "
          f"stage-2 {r['rate']:10,.0f} rows/s  ({r['epochs']} epochs)", flush=True)  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=100_000, help="rows of the big synthetic fit (default 100000)"
    )
    parser.add_argument(
        "--device", nargs="+", default=None, help="devices to compare (default: cpu and cuda if present)"
    )
    parser.add_argument("--cache-dir", default=None, help="use the cached AG News embeddings for the cell")
    parser.add_argument("--big-on-cpu", action="store_true", help="also run the big fit on CPU")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes and 2+3 epochs (not defaults): a CPU test of the script",
    )
    parser.add_argument(
        "--half-on-cpu",
        action="store_true",
        help="also fit the cell with precision='bf16' and 'fp16' on CPU (always on a GPU)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    global SMOKE
    SMOKE = args.smoke
    if SMOKE:
        args.rows = 400
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = args.device or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, {torch.get_num_threads()} CPU "
          f"threads, GPU: {gpu}; devices: {devices}")  # fmt: skip
    start = time.perf_counter()

    name, train, evaluation = benchmark_cell(args.cache_dir)
    print(f"benchmark-like cell: {name}, {N_LABELS} labels, default ZeroMatchClassifier")
    cell = {d: timed_fit(train, evaluation, d) for d in devices}
    for d, r in cell.items():
        report("cell", d, r)
    for d in [d for d in devices if d != "cpu" or args.half_on_cpu]:
        for precision in ("bf16", "fp16"):
            r = timed_fit(train, evaluation, d, precision=precision)
            report("cell", f"{d}+{precision}", r)
            print(f"  {precision} - float32 accuracy on {d}: {r['accuracy'] - cell[d]['accuracy']:+.4f}")
    if len(cell) > 1:
        accs = [r["accuracy"] for r in cell.values()]
        print(f"  accuracy spread across devices: {max(accs) - min(accs):.4f}")

    X, y = synthetic_rows(args.rows + args.rows // 4)  # --rows to train on, a fifth of the whole held out
    teacher = synthetic_teacher(y, N_CLASSES, TEACHER_ACC, random_state=0)
    train_big, eval_big = split_and_label(X, y, teacher, eval_fraction=0.2)
    big_devices = [d for d in devices if d != "cpu" or args.big_on_cpu or devices == ["cpu"]]
    print(f"big fit: {len(train_big[0]):,} training rows x {N_FEATURES} (+{len(eval_big[0]):,} held out), "
          f"{N_LABELS} labels, synthetic teacher {TEACHER_ACC:.0%} right, default parameters")  # fmt: skip
    for d in big_devices:
        report("big", d, timed_fit(train_big, eval_big, d))
    total = time.perf_counter() - start
    print(f"total {total:.0f} s{'' if total < 300 else '  (over the 5-minute budget)'}")


if __name__ == "__main__":
    main()
