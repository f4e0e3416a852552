"""Texts per second of SentenceEmbedder against a plain ``SentenceTransformer.encode``, with and without the
on-disk chunks, a resume after the embedding process is killed, and a two-process pool on CPU.

Question: does the library's caching cost throughput, does an interrupted run resume, and does a
multi-process pool pay on this machine? Run on a quiet machine (it sets torch threads itself)::

    python benchmarks/embedding_throughput.py [--n 3000] [--repeats 3]

and it writes ``benchmarks/embedding_throughput_results.txt``.
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch

from zeromatch_sk._foundation._cache import _ROW_CACHE, STORE_FOLDER
from zeromatch_sk._foundation._sentence import SentenceBackend
from zeromatch_sk.datasets import find_shared_data, load_ag_news, load_ag_news_sample
from zeromatch_sk.embedders import SentenceEmbedder

OUT = Path(__file__).with_name("embedding_throughput_results.txt")
THREADS = 2
KILLED = """
import os, sys
os.environ["HF_HUB_OFFLINE"] = "1"
import torch; torch.set_num_threads({threads})
from zeromatch_sk.embedders import SentenceEmbedder
texts = open(sys.argv[1], encoding="utf-8").read().split("\\x1e")
SentenceEmbedder(device="cpu", memory=sys.argv[2], verbose=0).fit_transform(texts)
"""


def corpus(n: int) -> tuple[list[str], str]:
    if find_shared_data(required=False) is not None:
        texts, source = list(load_ag_news().data), "AG News test split"
    else:
        texts, source = list(load_ag_news_sample().data), "the bundled AG News sample, repeated"
    texts = [texts[i % len(texts)] + ("" if i < len(texts) else f" ({i // len(texts)})") for i in range(n)]
    return texts, source


def rows_on_disk(folder: Path) -> int:
    return sum(len(np.load(f)) for f in folder.glob(f"{STORE_FOLDER}/*/*.keys.npy"))


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare_single_process(texts, st, repeats):
    """Best-of-``repeats`` seconds per route, the routes interleaved so load changes hit them alike."""
    routes = {
        "SentenceTransformer.encode (batch 32)": lambda folder: st.encode(
            texts, batch_size=32, convert_to_numpy=True, show_progress_bar=False
        ),
        "SentenceEmbedder, memory=None": lambda folder: SentenceEmbedder(
            device="cpu", verbose=0
        ).fit_transform(texts),
        "SentenceEmbedder, memory=folder (cold: writes chunks)": lambda folder: SentenceEmbedder(
            device="cpu", memory=folder, verbose=0
        ).fit_transform(texts),
        "SentenceEmbedder, memory=folder (warm: reads chunks)": lambda folder: SentenceEmbedder(
            device="cpu", memory=folder, verbose=0
        ).fit_transform(texts),
    }
    best = {name: np.inf for name in routes}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            for name, route in routes.items():
                _ROW_CACHE.clear()  # a new process's memory: only the disk (if any) is left
                best[name] = min(best[name], timed(functools.partial(route, folder)))
    return best


def resume_after_kill(texts) -> dict[str, float]:
    """Kill an embedding process once half the rows are on disk, then finish in this process."""
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "texts").write_text("\x1e".join(texts), encoding="utf-8")
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                KILLED.format(threads=THREADS),
                str(folder / "texts"),
                str(folder / "cache"),
            ]
        )
        while rows_on_disk(folder / "cache") < len(texts) // 2 and child.poll() is None:
            time.sleep(0.2)
        child.send_signal(signal.SIGKILL)
        child.wait()
        kept = rows_on_disk(folder / "cache")
        _ROW_CACHE.clear()
        seconds = timed(
            lambda: SentenceEmbedder(device="cpu", memory=folder / "cache", verbose=0).fit_transform(texts)
        )
        return {"kept": kept, "encoded": rows_on_disk(folder / "cache") - kept, "seconds": seconds}


def pool_versus_one_process(texts, st, repeats) -> dict[str, float]:
    """sentence-transformers' own pool of 2 CPU processes (1 torch thread each) against 1 process of 2 threads."""
    os.environ["OMP_NUM_THREADS"] = "1"  # read by the pool's spawned workers at torch import
    start = time.perf_counter()
    pool = st.start_multi_process_pool(["cpu", "cpu"])
    startup = time.perf_counter() - start
    os.environ.pop("OMP_NUM_THREADS")
    one = two = np.inf
    try:
        for _ in range(repeats):
            one = min(one, timed(lambda: st.encode(texts, batch_size=32, show_progress_bar=False)))
            two = min(two, timed(lambda: st.encode(texts, batch_size=32, pool=pool, show_progress_bar=False)))
    finally:
        st.stop_multi_process_pool(pool)
    return {"startup": startup, "one": one, "two": two}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="texts per run (default 3000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per route; the best is kept (default 3)")
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    texts, source = corpus(args.n)
    st = SentenceBackend("all-MiniLM-L6-v2", device="cpu", verbose=0).model  # shared with the embedders
    st.encode(texts[:64], batch_size=32, show_progress_bar=False)  # warm-up
    best = compare_single_process(texts, st, args.repeats)
    resumed = resume_after_kill(texts)
    pool = pool_versus_one_process(texts, st, args.repeats)
    base = best["SentenceTransformer.encode (batch 32)"]
    lines = [
        (
            f"{args.n} texts from {source}, all-MiniLM-L6-v2 on CPU, {THREADS} torch threads, "
            f"best of {args.repeats} runs; load average {os.getloadavg()[0]:.2f}"
        ),
        "",
        f"{'route':<56} {'texts/s':>8} {'vs encode':>9}",
    ]
    lines += [f"{name:<56} {args.n / s:8.0f} {base / s:8.2f}x" for name, s in best.items()]
    lines += [
        "",
        (
            f"Resume: the embedding process was killed (SIGKILL) once {resumed['kept']} of {args.n} rows were on "
            f"disk; the rerun encoded the other {resumed['encoded']} in {resumed['seconds']:.1f} s."
        ),
        "",
        (
            f"Pool of 2 processes x 1 thread ({pool['startup']:.1f} s to start): {args.n / pool['two']:.0f} texts/s; "
            f"1 process x {THREADS} threads: {args.n / pool['one']:.0f} texts/s "
            f"(pool / one process = {pool['one'] / pool['two']:.2f}x, before its start-up cost)."
        ),
    ]
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
