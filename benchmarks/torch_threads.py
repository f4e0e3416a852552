"""Short fits with 1 and 2 torch threads, on an idle machine and beside a busy process (issue 21.3).

    python benchmarks/torch_threads.py > benchmarks/torch_threads_results.txt

Each setting fits the same small problem (2,000 rows x 384, 2 + 3 epochs, 20 steps each) three times, alternating
settings, through ``zeromatch_sk.config_context(torch_threads=...)``; "busy" runs a second process that keeps one
core fully loaded with numpy work. Reports the median seconds and the ratio to 1 thread in the same condition.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import statistics
import time

import numpy as np


def _spin(stop):
    os.environ["OMP_NUM_THREADS"] = "1"
    a = np.random.rand(300, 300)
    while not stop.is_set():
        a = np.tanh(a @ a.T / 300.0)


def _fit_once(threads):
    from zeromatch_sk import ZeroMatchClassifier, config_context

    rng = np.random.RandomState(0)
    X = rng.normal(size=(2000, 384)).astype(np.float32)
    y_true = (X[:, 0] > 0).astype(int)
    y = np.full(2000, -1)
    y[:20] = y_true[:20]
    clf = ZeroMatchClassifier(kd_epochs=2, max_epochs=3, steps_per_epoch=20, random_state=0)
    start = time.perf_counter()
    with config_context(torch_threads=threads):
        clf.fit(X, y, pseudo_labels=y_true)
    return time.perf_counter() - start


def main():
    import torch

    torch.set_num_threads(2)
    print(f"{os.cpu_count()} cores; torch {torch.__version__}; median of 3 fits per cell")
    for condition in ("idle", "busy"):
        stop = mp.Event()
        spinner = mp.Process(target=_spin, args=(stop,)) if condition == "busy" else None
        if spinner:
            spinner.start()
            time.sleep(1.0)
        times = {1: [], 2: []}
        for _ in range(3):
            for threads in (1, 2):
                times[threads].append(_fit_once(threads))
        if spinner:
            stop.set()
            spinner.join()
        one = statistics.median(times[1])
        for threads in (1, 2):
            med = statistics.median(times[threads])
            print(f"  {condition:4s}  {threads} thread(s)  {med:6.2f} s  ({med / one:4.2f}x of 1 thread)")


if __name__ == "__main__":
    main()
