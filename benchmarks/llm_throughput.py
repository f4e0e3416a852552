"""LLMProvider throughput on the loopback server: 10,000 rows, the concurrency limit, no repeats.

The "model" is :class:`zeromatch_sk.testing.FakeLLMServer` answering every
request after ``--latency`` seconds (standing in for a served model's time per
request). The server records the most requests it had in flight at once and
how many requests each prompt received, so the run checks that

- every row is labelled (and correctly: the server's answer is known),
- no more than ``max_concurrency`` requests were ever in flight,
- no prompt was asked twice, and a second call over the same rows (shuffled)
  sends no request at all (the cache),

and prints rows per second. A short sweep over ``max_concurrency`` on fewer
rows shows how the rate grows with the requests in flight.

Run: ``python benchmarks/llm_throughput.py > benchmarks/llm_throughput_results.txt``
(about half a minute on a 2-core machine).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import time

import numpy as np

from zeromatch_sk.providers import LLMProvider
from zeromatch_sk.testing import FakeLLMServer

CLASSES = ["business", "sports", "technology", "world"]


def answer(user_message: str) -> str:
    """The class of row ``i`` is ``CLASSES[i % 4]``; the prompt says which row it is."""
    i = int(re.search(r"Row (\d+):", user_message).group(1))
    return CLASSES[i % 4].capitalize() + "."


def texts_for(n: int) -> list[str]:
    return [f"Row {i}: a short news text about something." for i in range(n)]


def run(n: int, concurrency: int, latency: float) -> dict:
    LLMProvider.clear_memory_cache()
    texts = texts_for(n)
    expected = np.eye(len(CLASSES))[np.arange(n) % len(CLASSES)]
    with FakeLLMServer(answer, latency=latency, logprobs=False) as server:
        teacher = LLMProvider(
            model="served-model",
            base_url=server.base_url,
            max_concurrency=concurrency,
            logprobs=False,
            verbose=0,
        )
        start = time.perf_counter()
        P = teacher.predict_proba(texts, CLASSES)
        elapsed = time.perf_counter() - start
        first = dict(
            requests=server.n_requests,
            max_in_flight=server.max_in_flight,
            most_asks_per_prompt=max(server.prompt_counts.values()),
            distinct_prompts=len(server.prompt_counts),
        )
        shuffled = random.Random(0).sample(texts, len(texts))
        teacher.predict_proba(shuffled, CLASSES)
        second_requests = server.n_requests - first["requests"]
    assert np.array_equal(P, expected), "some rows got the wrong label"
    assert first["requests"] == n == first["distinct_prompts"]
    assert first["max_in_flight"] <= concurrency, "the concurrency limit was exceeded"
    assert first["most_asks_per_prompt"] == 1, "a prompt was asked twice"
    assert second_requests == 0, "the second call asked again"
    return dict(
        rows=n, concurrency=concurrency, elapsed=elapsed, rate=n / elapsed, second=second_requests, **first
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--sweep-rows", type=int, default=400)
    args = parser.parse_args()

    print(f"LLMProvider throughput against FakeLLMServer (latency {args.latency * 1000:.0f} ms per request)")
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(
        "client and server share one Python process: past a few requests in flight, its CPU bounds the rate"
    )
    print()
    print("max_concurrency  rows    seconds  rows/s  max in flight  most asks per prompt  requests on rerun")
    rows = [run(args.sweep_rows, c, args.latency) for c in (1, 4, 16)]
    rows.append(run(args.rows, args.concurrency, args.latency))
    for r in rows:
        print(
            f"{r['concurrency']:>15}  {r['rows']:>6}  {r['elapsed']:>7.1f}  {r['rate']:>6.0f}  "
            f"{r['max_in_flight']:>13}  {r['most_asks_per_prompt']:>20}  {r['second']:>17}"
        )
    main_run = rows[-1]
    print()
    print(
        f"{main_run['rows']} rows labelled correctly in {main_run['elapsed']:.1f} s "
        f"({main_run['rate']:.0f} rows/s) with max_concurrency={main_run['concurrency']}: at most "
        f"{main_run['max_in_flight']} requests in flight, each prompt asked once, and a second call "
        f"over the same rows sent {main_run['second']} requests."
    )


if __name__ == "__main__":
    main()
