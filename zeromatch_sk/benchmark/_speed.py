"""Training throughput of ZeroMatch's stage 2, against the floor and against stock skorch.

Three loops train the same student (``ZeroMatchModule``: the default MLP
encoder, a main and an auxiliary head) on the same rows:

- **ZeroMatchNet**: ``ZeroMatchClassifier(kd_epochs=0)``, i.e. the skorch net
  of the library, with its callbacks, history and per-epoch checks;
- **hand-written loop**: the same forward and backward passes (the same
  views, losses, distribution alignment, threshold, AdamW and schedule) in a
  bare PyTorch loop, with nothing recorded: the practical floor;
- **skorch NeuralNetClassifier**: stock skorch doing one supervised epoch
  over the same rows with the encoder and main head (a different, lighter
  job per row: one view instead of three; its ``DataLoader`` collates rows
  one by one), next to a hand-written supervised loop doing the same.

Throughput is rows drawn per second: ``B + mu * B`` per stage-2 step (the
labeled and unlabeled rows of a batch), the batch size for supervised loops.
"""

from __future__ import annotations

import cProfile
import io
import math
import pstats
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["make_speed_data", "profile_stage2", "speed_benchmark"]


def make_speed_data(
    n_rows: int, n_features: int = 384, n_classes: int = 4, n_labeled: int = 400, seed: int = 0
):
    """Unit-norm rows around ``n_classes`` centres (like sentence embeddings), labels with -1, a 75 %-right teacher."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, n_features))
    y_true = rng.integers(n_classes, size=n_rows)
    X = centres[y_true] + 2.0 * rng.normal(size=(n_rows, n_features))
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
    y = np.full(n_rows, -1, dtype=np.int64)
    lab = rng.choice(n_rows, size=min(n_labeled, n_rows), replace=False)
    y[lab] = y_true[lab]
    teacher = np.where(rng.random(n_rows) < 0.75, y_true, rng.integers(n_classes, size=n_rows))
    P = np.eye(n_classes, dtype=np.float32)[teacher]
    return X, y, P


# ------------------------------------------------------------------ ZeroMatchNet
def _zeromatch_fit(X, y, P, *, steps_per_epoch, epochs, kd_epochs=0, device="cpu", seed=0, **params):
    from .._classifier import ZeroMatchClassifier

    clf = ZeroMatchClassifier(
        kd_epochs=kd_epochs, max_epochs=epochs, steps_per_epoch=steps_per_epoch, device=device, random_state=seed,
        **params,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        clf.fit(X, y, pseudo_labels=P)
        total = time.perf_counter() - t0
    durs = {1: [], 2: []}
    for row in clf.history_:
        durs[row["stage"]].append(row["dur"])
    return clf, total, durs


def zeromatchnet_throughput(X, y, P, *, steps: int, epochs: int = 4, device="cpu", seed=0) -> dict:
    """Stage-2 rows per second of the library's net (first epoch dropped as warm-up when there are several)."""
    per_epoch = max(1, steps // epochs)
    clf, total, durs = _zeromatch_fit(
        X, y, P, steps_per_epoch=per_epoch, epochs=epochs, device=device, seed=seed
    )
    d = durs[2][1:] if len(durs[2]) > 1 else durs[2]
    rows_per_step = clf.batch_size * (1 + clf.uratio)
    seconds = float(sum(d))
    return {
        "steps": per_epoch * len(d),
        "seconds": seconds,
        "rows_per_second": per_epoch * len(d) * rows_per_step / seconds,
        "ms_per_step": 1000 * seconds / (per_epoch * len(d)),
        "fit_seconds_total": total,
    }


# ----------------------------------------------------------------- hand-written
def _student(n_features, n_classes, seed, aux=True):
    from .._modules import MLPEncoder, ZeroMatchModule

    torch.manual_seed(seed)
    enc = MLPEncoder(n_features, (512,), 0.1)
    return ZeroMatchModule(enc, enc.out_features, n_classes, aux_head=aux)


def _adamw(module, lr=1e-3, weight_decay=1e-4):
    """AdamW without decay on 1-D parameters; the fused kernel where torch has one (the fastest floor)."""
    decay = [p for p in module.parameters() if p.ndim > 1]
    no_decay = [p for p in module.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    try:
        return torch.optim.AdamW(groups, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(groups, lr=lr)


def hand_written_stage2(X, y, P, *, steps: int, batch_size=64, uratio=3, lr=1e-3, p_cutoff=0.95, momentum=0.999,
                        device="cpu", seed=0, warmup_steps: int = 20) -> dict:  # fmt: skip
    """ZeroMatch's stage 2 as a bare PyTorch loop: the floor for the library's net.

    Same module, views (GaussianNoise weak, Scarf strong), losses, distribution
    alignment, relative threshold, linear alpha, AdamW without decay on 1-D
    parameters and the cos(7 pi / 16) schedule; no history, no callbacks, no
    per-step ``.item()``.
    """
    from ..augment import GaussianNoise, Scarf

    dev = torch.device(device)
    weak, strong = GaussianNoise().fit(X), Scarf().fit(X)
    Xt = torch.as_tensor(X, device=dev)
    yt = torch.as_tensor(y, device=dev)
    Tt = torch.as_tensor(P, device=dev).argmax(dim=1)
    labeled = torch.nonzero(yt >= 0).flatten()
    k = P.shape[1]
    module = _student(X.shape[1], k, seed).to(dev)
    opt = _adamw(module, lr)
    gen = torch.Generator(device=dev).manual_seed(seed)
    B, U, n = batch_size, batch_size * uratio, len(X)
    total = steps + warmup_steps

    def cycled(m, count):
        reps = math.ceil(count / m)
        return torch.rand((reps, m), generator=gen, device=dev).argsort(dim=1).flatten()[:count]

    lab = labeled[cycled(len(labeled), total * B)].view(total, B)
    ulb = cycled(n, total * U).view(total, U)
    p_model, p_target = None, torch.full((k,), 1.0 / k, device=dev)
    module.train()
    t0 = None
    for t in range(total):
        if t == warmup_steps:
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        for group in opt.param_groups:
            group["lr"] = lr * math.cos(7 * math.pi * t / (16 * total))
        li, ui = lab[t], ulb[t]
        x_l, y_l, x_u = Xt[li], yt[li], Xt[ui]
        z = module.encoder(torch.cat([weak(x_l, gen), weak(x_u, gen), strong(x_u, gen)]))
        logits = module.head(z)
        logits_l, logits_u = logits[:B], logits[B : B + U]
        loss = F.cross_entropy(logits_l, y_l)
        with torch.no_grad():
            probs_l, probs_u = logits_l.softmax(dim=1), logits_u.softmax(dim=1)
            mean_u = probs_u.mean(dim=0)
            p_model = mean_u if p_model is None else momentum * p_model + (1 - momentum) * mean_u
            p_target = momentum * p_target + (1 - momentum) * probs_l.mean(dim=0)
            aligned = probs_u * (p_target + 1e-6) / (p_model + 1e-6)
            aligned = aligned / aligned.sum(dim=1, keepdim=True)
            tau = p_cutoff * probs_l.max(dim=1).values.mean()
            conf, q = aligned.max(dim=1)
            mask = (conf >= tau).float()
        loss = loss + (F.cross_entropy(logits[B + U :], q, reduction="none") * mask).mean()
        alpha = t / max(total - 1, 1)
        loss = loss + alpha * F.cross_entropy(module.aux_head(z[: B + U]), torch.cat([Tt[li], Tt[ui]]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    return {
        "steps": steps,
        "seconds": seconds,
        "rows_per_second": steps * (B + U) / seconds,
        "ms_per_step": 1000 * seconds / steps,
    }


# ------------------------------------------------------------------- supervised
def skorch_supervised_epoch(X, y_true, *, batch_size=256, epochs=3, device="cpu", seed=0) -> dict:
    """Stock ``skorch.NeuralNetClassifier``: supervised epochs over all rows (encoder + main head)."""
    from skorch import NeuralNetClassifier

    torch.manual_seed(seed)
    student = _student(X.shape[1], int(y_true.max()) + 1, seed, aux=False)
    net = NeuralNetClassifier(
        student,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.AdamW,
        lr=1e-3,
        batch_size=batch_size,
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        device=device,
        verbose=0,
    )
    t0 = time.perf_counter()
    net.fit(X, y_true)
    total = time.perf_counter() - t0
    durs = [row["dur"] for row in net.history]
    d = durs[1:] if len(durs) > 1 else durs
    seconds = float(np.mean(d))
    return {"epochs": len(durs), "seconds_per_epoch": seconds, "rows_per_second": len(X) / seconds,
            "fit_seconds_total": total}  # fmt: skip


def hand_written_supervised_epoch(X, y_true, *, batch_size=256, epochs=3, device="cpu", seed=0) -> dict:
    """The same supervised epochs as a bare loop over shuffled index slices."""
    dev = torch.device(device)
    student = _student(X.shape[1], int(y_true.max()) + 1, seed, aux=False).to(dev)
    opt = _adamw(student)
    Xt, yt = torch.as_tensor(X, device=dev), torch.as_tensor(y_true, device=dev)
    gen = torch.Generator(device=dev).manual_seed(seed)
    durs = []
    student.train()
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(len(Xt), generator=gen, device=dev)
        for idx in perm.split(batch_size):
            loss = F.cross_entropy(student(Xt[idx]), yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        durs.append(time.perf_counter() - t0)
    d = durs[1:] if len(durs) > 1 else durs
    seconds = float(np.mean(d))
    return {"epochs": epochs, "seconds_per_epoch": seconds, "rows_per_second": len(X) / seconds}


# ---------------------------------------------------------------------- scaling
def fit_time_scaling(sizes, *, kd_epochs=2, max_epochs=2, device="cpu", seed=0) -> list[dict]:
    """Fit seconds of ``ZeroMatchClassifier`` (default steps per epoch) as the rows grow.

    Epoch counts are reduced to keep this short; ``extrapolated_default_fit_s``
    scales the measured per-epoch times to the default 20 + 60 epochs.
    """
    from .._classifier import ZeroMatchClassifier

    defaults = ZeroMatchClassifier()
    out = []
    for n in sizes:
        X, y, P = make_speed_data(int(n), seed=seed)
        _, total, durs = _zeromatch_fit(
            X, y, P, steps_per_epoch=None, epochs=max_epochs, kd_epochs=kd_epochs, device=device, seed=seed
        )
        s1 = float(np.mean(durs[1])) if durs[1] else float("nan")
        s2 = float(np.mean(durs[2])) if durs[2] else float("nan")
        out.append({
            "n_rows": int(n),
            "fit_seconds": total,
            "stage1_seconds_per_epoch": s1,
            "stage2_seconds_per_epoch": s2,
            "extrapolated_default_fit_s": defaults.kd_epochs * s1 + defaults.max_epochs * s2,
        })  # fmt: skip
    return out


# --------------------------------------------------------------------- profiling
def profile_stage2(n_rows: int = 20_000, steps: int = 300, top: int = 18, device="cpu") -> str:
    """cProfile summaries (by own time) of ZeroMatchNet's stage 2 and of the hand-written loop."""
    X, y, P = make_speed_data(n_rows)
    out = []
    for label, fn in (
        (
            "ZeroMatchNet stage 2",
            lambda: _zeromatch_fit(X, y, P, steps_per_epoch=steps // 3, epochs=3, device=device),
        ),
        (
            "hand-written loop",
            lambda: hand_written_stage2(X, y, P, steps=steps, device=device, warmup_steps=1),
        ),
    ):
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        fn()
        prof.disable()
        wall = time.perf_counter() - t0
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf)
        stats.sort_stats("tottime").print_stats(top)
        out.append(f"==== {label}: {steps} steps, {wall:.2f} s under the profiler ====\n{buf.getvalue()}")
    return "\n".join(out)


def speed_benchmark(
    n_rows: int = 20_000,
    *,
    steps: int = 600,
    sizes=(5_000, 10_000, 20_000, 40_000, 80_000),
    scaling_epochs=(2, 2),
    device="cpu",
    repeats: int = 2,
    seed: int = 0,
    log=print,
) -> dict:
    """Throughput of stage 2 against the hand-written floor and stock skorch, and fit time against rows.

    Parameters
    ----------
    n_rows : int
        Rows of the throughput comparison (384 features, 4 classes).
    steps : int
        Stage-2 optimizer steps timed per loop.
    sizes : sequence of int
        Row counts of the fit-time scaling; empty to skip it.
    scaling_epochs : (int, int)
        Stage-1 and stage-2 epochs of the scaling fits.
    repeats : int
        Each throughput is measured this many times, interleaved, and the
        best kept (the machine may be shared).

    Returns
    -------
    report : dict
        ``zeromatchnet``, ``hand_written``, ``skorch_supervised``,
        ``hand_written_supervised``, the two ratios and ``scaling``.
    """
    X, y, P = make_speed_data(n_rows, seed=seed)
    y_true = np.where(y >= 0, y, P.argmax(axis=1))  # any labels do for a supervised epoch
    runs = {"zeromatchnet": [], "hand_written": [], "skorch_supervised": [], "hand_written_supervised": []}
    for r in range(repeats):
        runs["zeromatchnet"].append(zeromatchnet_throughput(X, y, P, steps=steps, device=device, seed=seed))
        runs["hand_written"].append(hand_written_stage2(X, y, P, steps=steps, device=device, seed=seed))
        runs["skorch_supervised"].append(skorch_supervised_epoch(X, y_true, device=device, seed=seed))
        runs["hand_written_supervised"].append(
            hand_written_supervised_epoch(X, y_true, device=device, seed=seed)
        )
        if log:
            log(f"  repeat {r + 1}/{repeats}: " + ", ".join(
                f"{k} {v[-1]['rows_per_second']:,.0f} rows/s" for k, v in runs.items()))  # fmt: skip
    best = {k: max(v, key=lambda d: d["rows_per_second"]) for k, v in runs.items()}
    report = {
        "n_rows": n_rows,
        "n_features": X.shape[1],
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "steps": steps,
        **best,
        "all_repeats": runs,
        "time_ratio_vs_hand_written": best["hand_written"]["rows_per_second"]
        / best["zeromatchnet"]["rows_per_second"],
        "throughput_ratio_vs_skorch_supervised": (
            best["zeromatchnet"]["rows_per_second"] / best["skorch_supervised"]["rows_per_second"]
        ),
        "skorch_supervised_time_ratio_vs_hand_written": (
            best["hand_written_supervised"]["rows_per_second"] / best["skorch_supervised"]["rows_per_second"]
        ),
    }
    if sizes:
        if log:
            log(f"  fit-time scaling over {list(sizes)} rows ...")
        report["scaling"] = fit_time_scaling(
            sizes, kd_epochs=scaling_epochs[0], max_epochs=scaling_epochs[1], device=device, seed=seed
        )
    return report


def speed_markdown(report: dict) -> str:
    """The speed report as Markdown."""
    z, h = report["zeromatchnet"], report["hand_written"]
    s, hs = report["skorch_supervised"], report["hand_written_supervised"]
    lines = [
        "# ZeroMatch training speed",
        "",
        (
            f"{report['n_rows']:,} rows x {report['n_features']}, default student (Linear 384->512, GELU, dropout, "
            f"two heads), B = 64 labeled + 192 unlabeled rows per stage-2 step, device {report['device']}, "
            f"{report['torch_threads']} torch thread(s), best of the repeats."
        ),
        "",
        "| loop | rows / s | ms / step | relative time |",
        "|---|---:|---:|---:|",
        (
            f"| ZeroMatchNet stage 2 (the library) | {z['rows_per_second']:,.0f} | {z['ms_per_step']:.2f} | "
            f"{report['time_ratio_vs_hand_written']:.2f}x |"
        ),
        f"| hand-written stage 2 (floor) | {h['rows_per_second']:,.0f} | {h['ms_per_step']:.2f} | 1.00x |",
        (
            f"| skorch NeuralNetClassifier, supervised epoch (batch 256) | {s['rows_per_second']:,.0f} | "
            f"{1000 * 256 / s['rows_per_second']:.2f} | {report['skorch_supervised_time_ratio_vs_hand_written']:.2f}x "
            "of its own floor |"
        ),
        (
            f"| hand-written supervised epoch (batch 256) | {hs['rows_per_second']:,.0f} | "
            f"{1000 * 256 / hs['rows_per_second']:.2f} | 1.00x |"
        ),
        "",
        (
            f"- ZeroMatchNet takes **{report['time_ratio_vs_hand_written']:.2f}x** the time of the hand-written loop "
            "for the same stage-2 work (goal: at most 1.25x)."
        ),
        (
            f"- ZeroMatchNet draws **{report['throughput_ratio_vs_skorch_supervised']:.2f}x** the rows per second of "
            "stock skorch doing plain supervised epochs, although each of its rows costs about twice the compute "
            "(weak + strong views of every unlabeled row, an auxiliary head)."
        ),
    ]
    if report.get("scaling"):
        lines += [
            "",
            (
                "Fit time against rows (stage-1 and stage-2 epochs reduced; the last column scales the measured "
                "epochs to the default 20 + 60):"
            ),
            "",
            "| rows | fit s | stage-1 s / epoch | stage-2 s / epoch | default fit, extrapolated s |",
            "|---:|---:|---:|---:|---:|",
        ]
        for r in report["scaling"]:
            lines.append(
                f"| {r['n_rows']:,} | {r['fit_seconds']:.1f} | {r['stage1_seconds_per_epoch']:.2f} | "
                f"{r['stage2_seconds_per_epoch']:.2f} | {r['extrapolated_default_fit_s']:.0f} |"
            )
    return "\n".join(lines) + "\n"
