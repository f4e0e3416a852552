"""Turn benchmark records into a summary table, Markdown, JSON and a plot."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

__all__ = ["plot_accuracy", "summary_table", "to_jsonable", "to_markdown", "write_results"]

#: The method the report is about; the others are compared with it.
FOCUS = "ZeroMatch"


def _std(values) -> float:
    values = np.asarray(values, dtype=float)
    return float(values.std(ddof=1)) if len(values) > 1 else 0.0


def summary_table(runs: list[dict], method_order=None):
    """Mean and std of accuracy (and fit seconds) per dataset, budget and method: a pandas DataFrame."""
    import pandas as pd

    df = pd.DataFrame(runs)
    if df.empty:
        return pd.DataFrame(
            columns=["dataset", "budget", "method", "accuracy_mean", "accuracy_std", "macro_f1_mean",
                     "fit_seconds_mean", "n_seeds"]
        )  # fmt: skip
    df = df[df["accuracy"].notna()]
    df = df.assign(fit_seconds=pd.to_numeric(df["fit_seconds"], errors="coerce"))
    table = (
        df.groupby(["dataset", "budget", "method"], sort=False)
        .agg(
            accuracy_mean=("accuracy", "mean"),
            accuracy_std=("accuracy", _std),
            accuracy_min=("accuracy", "min"),
            accuracy_max=("accuracy", "max"),
            macro_f1_mean=("macro_f1", "mean"),
            fit_seconds_mean=("fit_seconds", "mean"),
            n_seeds=("seed", "nunique"),
        )
        .reset_index()
    )
    if method_order is not None:
        rank = {m: i for i, m in enumerate(method_order)}
        datasets = list(dict.fromkeys(df["dataset"]))
        table = table.sort_values(
            ["dataset", "budget", "method"],
            key=lambda s: s.map({d: i for i, d in enumerate(datasets)}) if s.name == "dataset"
            else (s.map(rank) if s.name == "method" else s),
        ).reset_index(drop=True)  # fmt: skip
    return table


def _fmt_seconds(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _comparison_lines(table, dataset: str) -> list[str]:
    """Where ZeroMatch wins and where it loses, in words, per budget."""
    lines = []
    sub = table[table["dataset"] == dataset]
    for budget, cell in sub.groupby("budget", sort=True):
        focus = cell[cell["method"] == FOCUS]
        if focus.empty:
            continue
        z = focus.iloc[0]
        others = cell[cell["method"] != FOCUS]
        better = others[others["accuracy_mean"] > z["accuracy_mean"]]
        if better.empty:
            runner = others.sort_values("accuracy_mean", ascending=False).head(1)
            gap = (
                ""
                if runner.empty
                else (
                    f", {z['accuracy_mean'] - runner.iloc[0]['accuracy_mean']:+.3f} over {runner.iloc[0]['method']}"
                )
            )
            lines.append(f"- {budget} labels: **{FOCUS} is best** ({z['accuracy_mean']:.3f}{gap}).")
        else:
            parts = []
            for _, row in better.sort_values("accuracy_mean", ascending=False).iterrows():
                gap = row["accuracy_mean"] - z["accuracy_mean"]
                noise = math.hypot(row["accuracy_std"], z["accuracy_std"])
                verdict = "within seed noise" if gap <= noise else "beyond seed noise"
                parts.append(f"{row['method']} ({row['accuracy_mean']:.3f}, {gap:+.3f}, {verdict})")
            lines.append(
                f"- {budget} labels: {FOCUS} ({z['accuracy_mean']:.3f}) **loses to** "
                + "; ".join(parts)
                + "."
            )
    return lines


def to_markdown(results) -> str:
    """The report: one table per dataset (methods x budgets), and where ZeroMatch loses."""
    table = results.table()
    methods = [m["name"] for m in results.methods]
    cfg = results.config
    out = ["# ZeroMatch benchmark", ""]
    out.append(
        f"Accuracy on held-out evaluation rows (mean ± std over {len(cfg.get('seeds', []))} seeds: "
        "label draw and model seed), and mean fit seconds per run. Every method sees the same rows; the "
        "student-based methods share the network and epoch budgets "
        f"(student parameters: {cfg.get('student_params') or 'library defaults'}). "
        f"{cfg.get('n_runs', '?')} runs, {cfg.get('n_jobs', 1)} parallel job(s), "
        f"{_fmt_seconds(cfg.get('wall_seconds'))} s wall time."
    )
    for up in cfg.get("updates", []):
        out.append("")
        out.append(
            f"Updated {up.get('date', '?')}: {', '.join(up.get('methods', []))} rerun on "
            f"{', '.join(up.get('datasets', []))} ({up.get('n_runs', '?')} runs, "
            f"{_fmt_seconds(up.get('wall_seconds'))} s); every other cell is from the run above."
        )
    out.append("")
    for ds in results.datasets:
        name = ds["name"]
        sub = table[table["dataset"] == name]
        if sub.empty:
            continue
        budgets = sorted(sub["budget"].unique())
        out.append(f"## {name}")
        out.append("")
        out.append(
            f"{ds['n_pool']} pool rows, {ds['n_eval']} evaluation rows, {ds['n_classes']} classes. "
            f"Teacher: {ds['teacher']}; accuracy {ds['teacher_accuracy_eval']:.3f} on the evaluation rows, "
            f"{ds['teacher_accuracy_pool']:.3f} on the pool."
        )
        out.append("")
        header = ["method"] + [h for b in budgets for h in (f"{b} labels: accuracy", "fit s")]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
        best = {b: sub[sub["budget"] == b]["accuracy_mean"].max() for b in budgets}
        for m in methods:
            rows = sub[sub["method"] == m]
            if rows.empty:
                continue
            cells = [m]
            for b in budgets:
                r = rows[rows["budget"] == b]
                if r.empty:
                    cells += ["–", "–"]
                    continue
                r = r.iloc[0]
                acc = f"{r['accuracy_mean']:.3f} ± {r['accuracy_std']:.3f}"
                if np.isclose(r["accuracy_mean"], best[b]):
                    acc = f"**{acc}**"
                cells += [acc, _fmt_seconds(r["fit_seconds_mean"])]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
        lines = _comparison_lines(table, name)
        if lines:
            out += lines + [""]
    out.append("Methods:")
    out.append("")
    for m in results.methods:
        params = f" `{m['params']}`" if m["params"] else ""
        out.append(f"- **{m['name']}**: {m['description']}{params}")
    out.append("")
    return "\n".join(out)


def _clean(value):
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return repr(value)


def to_jsonable(results) -> dict:
    """The results as plain JSON types: config, datasets, methods, summary and every run."""
    table = results.table()
    return _clean(
        {
            "config": results.config,
            "datasets": results.datasets,
            "methods": results.methods,
            "summary": table.to_dict(orient="records"),
            "runs": results.runs,
        }
    )


def plot_accuracy(results, path):
    """Dot plot with error bars: accuracy per method (rows) and budget (colours), one panel per dataset."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    table = results.table()
    methods = [m["name"] for m in results.methods]
    datasets = [d["name"] for d in results.datasets if d["name"] in set(table["dataset"])]
    n = max(len(datasets), 1)
    ncols = min(n, 3)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.6 * ncols, (0.3 * len(methods) + 1.3) * nrows + 0.4), squeeze=False,
        sharey=True, layout="constrained",
    )  # fmt: skip
    ypos = {m: i for i, m in enumerate(methods)}
    markers = "osD^v<>"
    for ax, name in zip(axes.flat, datasets):
        sub = table[table["dataset"] == name]
        budgets = sorted(sub["budget"].unique())
        for j, b in enumerate(budgets):
            cell = sub[sub["budget"] == b]
            offset = (j - (len(budgets) - 1) / 2) * 0.22
            y = [ypos[m] + offset for m in cell["method"]]
            ax.errorbar(
                cell["accuracy_mean"], y, xerr=cell["accuracy_std"], fmt=markers[j % len(markers)],
                capsize=2, ms=5, label=f"{b} labels",
            )  # fmt: skip
        if FOCUS in ypos:
            ax.axhspan(ypos[FOCUS] - 0.45, ypos[FOCUS] + 0.45, color="0.9", zorder=0)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("accuracy on evaluation rows")
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    for ax in axes.flat[len(datasets) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_yticks(range(len(methods)))
        ax.set_yticklabels(methods, fontsize=8)
    axes[0, 0].invert_yaxis()
    fig.suptitle(f"Accuracy, mean ± std over {len(results.config.get('seeds', []))} seeds", fontsize=11)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return Path(path)


def write_results(results, out) -> dict[str, Path]:
    """Write ``results.md``, ``results.json`` and ``accuracy.png`` into the folder ``out``."""
    out = Path(out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out / "results.md", "json": out / "results.json", "plot": out / "accuracy.png"}
    paths["markdown"].write_text(results.markdown(), encoding="utf-8")
    paths["json"].write_text(json.dumps(to_jsonable(results), indent=1), encoding="utf-8")
    plot_accuracy(results, paths["plot"])
    return paths
