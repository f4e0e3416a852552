"""Run every (dataset, budget, seed, method) cell, in parallel processes, with a progress bar."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._datasets import BenchmarkDataset, make_dataset
from ._methods import Method, default_methods, run_one

__all__ = ["BenchmarkResults", "benchmark_arrays", "run_benchmark"]


def _seed_list(seeds) -> list[int]:
    if isinstance(seeds, (int, np.integer)):
        if seeds < 1:
            raise ValueError(f"seeds must be a positive count or a list of seeds, got {seeds}.")
        return list(range(int(seeds)))
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds is empty; give a count (e.g. 3) or a list of seeds.")
    return seeds


@dataclass
class BenchmarkResults:
    """Everything a benchmark produced: one record per run, the datasets and the settings.

    ``table()`` is the summary (pandas DataFrame: mean and std of accuracy
    and fit time per dataset, budget and method), ``markdown()`` the report,
    ``write(out)`` saves ``results.md``, ``results.json`` and
    ``accuracy.png``.
    """

    runs: list[dict]
    datasets: list[dict]
    methods: list[dict]
    config: dict = field(default_factory=dict)

    def table(self):
        from ._report import summary_table

        return summary_table(self.runs, [m["name"] for m in self.methods])

    def markdown(self) -> str:
        from ._report import to_markdown

        return to_markdown(self)

    def to_dict(self) -> dict:
        from ._report import to_jsonable

        return to_jsonable(self)

    def write(self, out) -> dict[str, Path]:
        """Write ``results.md``, ``results.json`` and ``accuracy.png`` to the folder ``out``."""
        from ._report import write_results

        return write_results(self, out)


def _tasks(datasets, methods, budgets, seeds):
    """The runs to do, and which dataset records each run fans out to.

    Methods that ignore the teacher see the same data in every dataset of a
    group (digits with three synthetic teachers): they run once per group.
    """
    tasks: dict[tuple, dict] = {}
    for ds in datasets:
        for budget in budgets if budgets is not None else ds.budgets:
            for seed in seeds:
                for m in methods:
                    shared = ds.group is not None and not m.uses_teacher
                    key = (ds.key if shared else ds.name, int(budget), seed, m.name)
                    if key in tasks:
                        tasks[key]["also"].append(ds.name)
                    else:
                        tasks[key] = {"ds": ds, "budget": int(budget), "seed": seed, "method": m, "also": []}
    # Longest runs first keeps every worker busy to the end.
    return sorted(tasks.values(), key=lambda t: -t["method"].cost * (1 + len(t["ds"].pool_idx) / 1e4))


def _run_task(task, student_params, torch_threads):
    record = run_one(
        task["ds"], task["budget"], task["seed"], task["method"],
        student_params=student_params, torch_threads=torch_threads,
    )  # fmt: skip
    return [record] + [{**record, "dataset": name, "shared_with": task["ds"].name} for name in task["also"]]


def run_benchmark(
    datasets: Sequence[BenchmarkDataset],
    methods: Sequence[Method] | None = None,
    *,
    budgets: Sequence[int] | None = None,
    seeds=3,
    student_params: dict | None = None,
    n_jobs: int = 1,
    progress: bool = True,
    out=None,
) -> BenchmarkResults:
    """Run every method on every dataset, label budget and seed.

    Parameters
    ----------
    datasets : list of BenchmarkDataset
        See :func:`load_dataset` and :func:`make_dataset`.
    methods : list of Method or None
        Default :func:`default_methods`.
    budgets : list of int or None
        Label budgets for every dataset; None uses each dataset's own.
    seeds : int or list of int
        A count (seeds ``0 .. seeds - 1``) or the seeds. A seed fixes the
        label draw and the model's random state.
    student_params : dict or None
        :class:`~zeromatch_sk.ZeroMatchClassifier` parameters for every
        student-based method (e.g. ``{"max_epochs": 5}`` for a trial, or
        ``{"device": "cuda"}``); a method's own ablation parameters win.
    n_jobs : int
        Runs in parallel, one process each (joblib); every worker trains
        with one torch thread. 1 runs in this process with torch's default
        threads. -1 uses every core.
    progress : bool
        A tqdm bar over runs.
    out : path-like or None
        Also write the three result files there.

    Returns
    -------
    BenchmarkResults
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    methods = list(methods) if methods is not None else default_methods()
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise ValueError(f"Method names must be unique, got {names}.")
    seeds = _seed_list(seeds)
    tasks = _tasks(datasets, methods, budgets, seeds)
    n_jobs = int(n_jobs) if n_jobs else 1
    parallel = n_jobs != 1
    torch_threads = 1 if parallel else None

    t0 = time.perf_counter()
    records: list[dict] = []
    bar = tqdm(total=len(tasks), desc="benchmark runs", unit="run", disable=not progress, dynamic_ncols=True)
    with bar:
        if parallel:
            jobs = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                delayed(_run_task)(t, student_params, torch_threads) for t in tasks
            )
        else:
            jobs = (_run_task(t, student_params, torch_threads) for t in tasks)
        for recs in jobs:
            records.extend(recs)
            r = recs[0]
            bar.set_postfix_str(
                f"{r['dataset']} {r['budget']} {r['method']}: {r['accuracy']:.3f}", refresh=False
            )
            bar.update(1)
    wall = time.perf_counter() - t0

    order = {(ds.name): i for i, ds in enumerate(datasets)}
    records.sort(key=lambda r: (order.get(r["dataset"], 0), r["budget"], names.index(r["method"]), r["seed"]))
    import torch

    results = BenchmarkResults(
        runs=records,
        datasets=[ds.summary() for ds in datasets],
        methods=[m.summary() for m in methods],
        config={
            "seeds": seeds,
            "budgets": list(budgets) if budgets is not None else None,
            "student_params": dict(student_params or {}),
            "n_jobs": n_jobs,
            "n_runs": len(tasks),
            "wall_seconds": wall,
            "machine": {
                "platform": platform.platform(),
                "python": platform.python_version(),
                "torch": torch.__version__,
                "cpu_count": os.cpu_count(),
            },
        },
    )
    if out is not None:
        results.write(out)
    return results


def load_results(path) -> BenchmarkResults:
    """Read a ``results.json`` written by :meth:`BenchmarkResults.write` (or its folder)."""
    import json
    from pathlib import Path

    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    data = json.loads(path.read_text())
    return BenchmarkResults(runs=data["runs"], datasets=data["datasets"], methods=data["methods"],
                            config=data.get("config", {}))  # fmt: skip


def merge_results(old: BenchmarkResults, new: BenchmarkResults) -> BenchmarkResults:
    """``old`` with every (dataset, method) cell that ``new`` ran replaced by ``new``'s runs.

    For rerunning a few methods after a change without rerunning the rest:
    the other cells, their dataset records and their method order stay as
    they were; replaced or added methods take ``new``'s description. The
    merged config keeps ``old``'s and lists each update (methods, datasets,
    runs, seconds) under ``"updates"``, so the report says which numbers
    are newer.
    """
    import datetime

    rerun = {(r["dataset"], r["method"]) for r in new.runs}
    runs = [r for r in old.runs if (r["dataset"], r["method"]) not in rerun] + list(new.runs)
    new_methods = {m["name"]: m for m in new.methods}
    methods = [new_methods.pop(m["name"], m) for m in old.methods] + list(new_methods.values())
    new_datasets = {d["name"]: d for d in new.datasets}
    datasets = [new_datasets.pop(d["name"], d) for d in old.datasets] + list(new_datasets.values())
    d_order = {d["name"]: i for i, d in enumerate(datasets)}
    m_order = {m["name"]: i for i, m in enumerate(methods)}
    runs.sort(
        key=lambda r: (d_order.get(r["dataset"], 0), r["budget"], m_order.get(r["method"], 0), r["seed"])
    )
    config = dict(old.config)
    config["updates"] = list(config.get("updates", [])) + [
        {
            "date": datetime.date.today().isoformat(),
            "methods": sorted({m for _, m in rerun}),
            "datasets": sorted({d for d, _ in rerun}),
            "n_runs": len(new.runs),
            "wall_seconds": new.config.get("wall_seconds"),
            "student_params": new.config.get("student_params", {}),
        }
    ]
    return BenchmarkResults(runs=runs, datasets=datasets, methods=methods, config=config)


def benchmark_arrays(
    X,
    y_true,
    teacher_proba=None,
    budgets: Sequence[int] = (40,),
    seeds=3,
    *,
    methods: Sequence[Method] | None = None,
    eval_fraction: float = 0.25,
    eval_idx=None,
    classes=None,
    name: str = "custom",
    student_params: dict | None = None,
    n_jobs: int = 1,
    progress: bool = True,
    out=None,
):
    """Benchmark ZeroMatch against the alternatives on your own data.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Features or embeddings of every row.
    y_true : array-like of shape (n_samples,)
        True labels of every row. The benchmark hides them: each run labels
        ``budget`` rows of the pool (balanced per class) and marks the rest
        ``-1``; accuracy is measured on held-out evaluation rows.
    teacher_proba : array-like of shape (n_samples, n_classes) or None
        Your teacher's probabilities (columns in sorted label order, or in
        the order of ``classes``). None skips the methods that need one.
    budgets : list of int
        Numbers of labeled rows.
    seeds : int or list of int
    methods, student_params, n_jobs, progress, out :
        As in :func:`run_benchmark`.
    eval_fraction, eval_idx, classes, name :
        As in :func:`make_dataset`.

    Returns
    -------
    table : pandas.DataFrame
        One row per (dataset, budget, method): accuracy mean and std, fit
        seconds, number of seeds. The full results are in
        ``table.attrs["results"]`` (a :class:`BenchmarkResults`).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from zeromatch_sk.benchmark import benchmark_arrays, quick_methods
    >>> X, y = make_classification(600, n_informative=6, n_classes=3, random_state=0)
    >>> P = np.eye(3)[y]                                  # a perfect teacher
    >>> table = benchmark_arrays(X, y, P, budgets=[30], seeds=1, progress=False,
    ...                          methods=quick_methods()[:2])
    >>> table[["method", "accuracy_mean"]].shape
    (2, 2)
    """
    ds = make_dataset(
        X, y_true, teacher_proba, name=name, budgets=budgets, eval_fraction=eval_fraction,
        eval_idx=eval_idx, classes=classes,
    )  # fmt: skip
    methods = list(methods) if methods is not None else default_methods()
    if teacher_proba is None:
        methods = [m for m in methods if not m.uses_teacher]
    results = run_benchmark(
        [ds], methods, budgets=budgets, seeds=seeds, student_params=student_params, n_jobs=n_jobs,
        progress=progress, out=out,
    )  # fmt: skip
    table = results.table()
    table.attrs["results"] = results
    return table
