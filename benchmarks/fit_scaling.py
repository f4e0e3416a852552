"""Fit time and peak memory of a default ZeroMatchClassifier from 5,000 to 320,000 rows x 384 on CPU (issue 20.4).

Each size runs in a fresh subprocess (so the peak resident set, read with
``resource.getrusage``, belongs to that size alone), on one torch thread.
Rows are the synthetic sentence-embedding-like rows of
``benchmarks/gpu_check.py`` with a 75 %-accurate synthetic teacher and 40
labels. To keep the run short, each fit runs ``--kd-epochs`` distillation
epochs and ``--max-epochs`` stage-2 epochs instead of the defaults (20 and
60); the default fit time is scaled back as

    setup + 20 * (mean stage-1 epoch) + 60 * (mean stage-2 epoch)

where setup is the fit's wall time outside the epochs (validation, the
defence decision, the teacher's checks, the report). The machine's 1-minute
load average is printed next to each timing: the machine is shared, and a
load above the core count inflates the times.

    python benchmarks/fit_scaling.py > benchmarks/fit_scaling_results.txt
    python benchmarks/fit_scaling.py --sizes 2000 4000   # a quick smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings

SIZES = (5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 320_000)
DEFAULT_KD_EPOCHS, DEFAULT_MAX_EPOCHS = 20, 60


def one_fit(rows, kd_epochs, max_epochs):
    """Run in the child: fit once, print one JSON line."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from gpu_check import N_CLASSES, TEACHER_ACC, split_and_label, synthetic_rows

    from zeromatch_sk import ZeroMatchClassifier
    from zeromatch_sk.benchmark import synthetic_teacher

    X, y = synthetic_rows(rows + rows // 4)
    teacher = synthetic_teacher(y, N_CLASSES, TEACHER_ACC, random_state=0)
    (Xt, yt, Pt), (Xe, ye) = split_and_label(X, y, teacher, eval_fraction=0.2)
    del X, y, teacher
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    clf = ZeroMatchClassifier(kd_epochs=kd_epochs, max_epochs=max_epochs, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        clf.fit(Xt, yt, pseudo_labels=Pt)
        seconds = time.perf_counter() - t0
    s1 = [row["dur"] for row in clf.history_ if row["stage"] == 1]
    s2 = [row["dur"] for row in clf.history_ if row["stage"] == 2]
    out = dict(
        rows=len(yt),
        seconds=seconds,
        stage1=s1,
        stage2=s2,
        accuracy=float(np.mean(clf.predict(Xe) == ye)),
        data_rss_mib=rss_before / 1024,
        peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        load=os.getloadavg()[0],
    )
    print(json.dumps(out), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES, help="training rows per fit")
    parser.add_argument("--kd-epochs", type=int, default=2, help="stage-1 epochs actually run (default 2)")
    parser.add_argument("--max-epochs", type=int, default=3, help="stage-2 epochs actually run (default 3)")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        return one_fit(args.child, args.kd_epochs, args.max_epochs)
    print(f"one torch thread, {os.cpu_count()} cores; {args.kd_epochs} KD + {args.max_epochs} stage-2 epochs "
          f"run, scaled to the defaults ({DEFAULT_KD_EPOCHS} + {DEFAULT_MAX_EPOCHS})", flush=True)  # fmt: skip
    print(f"{'rows':>8} {'load':>5} {'s/KD ep':>8} {'s/st2 ep':>9} {'setup s':>8} {'default fit s':>14} "
          f"{'peak RSS MiB':>13} {'data MiB':>9} {'acc':>6}", flush=True)  # fmt: skip
    for rows in args.sizes:
        load_before = os.getloadavg()[0]
        cmd = [sys.executable, os.path.abspath(__file__), "--child", str(rows),
               "--kd-epochs", str(args.kd_epochs), "--max-epochs", str(args.max_epochs)]  # fmt: skip
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        kd = sum(r["stage1"]) / max(len(r["stage1"]), 1)
        st2 = sum(r["stage2"]) / max(len(r["stage2"]), 1)
        setup = r["seconds"] - sum(r["stage1"]) - sum(r["stage2"])
        default = setup + DEFAULT_KD_EPOCHS * kd + DEFAULT_MAX_EPOCHS * st2
        load = max(load_before, r["load"])
        print(f"{r['rows']:>8,} {load:>5.2f} {kd:>8.2f} {st2:>9.2f} {setup:>8.1f} {default:>14.1f} "
              f"{r['peak_rss_mib']:>13.0f} {r['data_rss_mib']:>9.0f} {r['accuracy']:>6.3f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
