"""The tabular benchmark: five real tables, each with a teacher a practitioner could write without labels.

Each rule reads the raw columns by name (thresholds from textbook descriptions of the data, written down before any
result was measured and never tuned), hedges where it does not know, and returns probabilities in the order of the
classes. The student sees the columns standardised with a scaler fitted on the pool rows. Digits has no column a
rule could read; its teacher is the benchmark's synthetic one (right 80 % of the time), as on the text benchmark.
"""

from __future__ import annotations

import numpy as np

from ._datasets import EVAL_FRACTION, BenchmarkDataset, _load_digits, stratified_split

#: Labels per class of the two budgets.
PER_CLASS = (5, 20)


def iris_rule(df) -> np.ndarray:
    """Setosa has short petals (under 2.5 cm), virginica wide ones (over 1.75 cm); versicolor between."""
    length, width = df["petal length (cm)"].to_numpy(), df["petal width (cm)"].to_numpy()
    P = np.full((len(df), 3), 0.1)  # setosa, versicolor, virginica
    setosa, virginica = length < 2.5, (length >= 2.5) & (width > 1.75)
    P[setosa, 0] = 0.8
    P[virginica, 2] = 0.8
    P[~setosa & ~virginica, 1] = 0.8
    return P


def wine_rule(df) -> np.ndarray:
    """Barbera is poor in flavanoids, Barolo rich in proline, Grignolino light-coloured (the gallery's rule)."""
    barbera = df["flavanoids"].to_numpy() < 1.4
    barolo = ~barbera & (df["proline"].to_numpy() > 1000)
    grignolino = ~barbera & ~barolo & (df["color_intensity"].to_numpy() < 3.8)
    P = np.full((len(df), 3), 0.1)  # class_0 Barolo, class_1 Grignolino, class_2 Barbera
    P[barolo, 0] = P[grignolino, 1] = P[barbera, 2] = 0.8
    P[~(barbera | barolo | grignolino)] = [0.45, 0.45, 0.1]
    return P


def breast_cancer_rule(df) -> np.ndarray:
    """Large nuclei with many concave points are malignant; small smooth ones benign; hedge between."""
    radius, concave = df["worst radius"].to_numpy(), df["worst concave points"].to_numpy()
    malignant = (radius > 17.0) | (concave > 0.15)
    benign = ~malignant & (radius < 15.0) & (concave < 0.10)
    P = np.full((len(df), 2), 0.5)  # malignant, benign
    P[malignant] = [0.85, 0.15]
    P[benign] = [0.15, 0.85]
    return P


def penguins_rule(df) -> np.ndarray:
    """Gentoo have long flippers (over 206 mm); of the rest, Adelie have short bills (under 43 mm)."""
    flipper, bill = df["flipper_length_mm"].to_numpy(), df["bill_length_mm"].to_numpy()
    gentoo = flipper > 206
    adelie = ~gentoo & (bill < 43)
    P = np.full((len(df), 3), 0.1)  # Adelie, Chinstrap, Gentoo
    P[gentoo, 2] = 0.8
    P[adelie, 0] = 0.8
    P[~gentoo & ~adelie, 1] = 0.8
    return P


def _load_penguins():
    try:
        from palmerpenguins import load_penguins
    except ImportError as exc:
        raise ImportError(
            "The tabular-penguins case needs the palmerpenguins package: pip install palmerpenguins "
            '(or pip install "zeromatch-sk[benchmark]").'
        ) from exc
    df = load_penguins()
    columns = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    df = df.dropna(subset=[*columns, "species"]).reset_index(drop=True)
    names = sorted(df["species"].unique())
    return df[columns], np.searchsorted(names, df["species"].to_numpy()), names


def _sklearn_table(loader):
    bunch = loader(as_frame=True)
    return bunch.data, bunch.target.to_numpy(), [str(n) for n in bunch.target_names]


TABLES = {
    "iris": ("load_iris", iris_rule, "petal length and width thresholds"),
    "wine": ("load_wine", wine_rule, "flavanoids, proline and colour intensity thresholds"),
    "breast_cancer": ("load_breast_cancer", breast_cancer_rule, "worst radius and worst concave points"),
    "penguins": (None, penguins_rule, "flipper length and bill length thresholds"),
}


def _standardised(df, pool) -> np.ndarray:
    from sklearn.preprocessing import StandardScaler

    X = df.to_numpy(dtype=np.float64)
    return StandardScaler().fit(X[pool]).transform(X).astype(np.float32)


def _load_table(name, cache_dir=None, verbose=1, max_rows=None):
    import sklearn.datasets

    loader, rule, what = TABLES[name]
    df, y, names = _load_penguins() if loader is None else _sklearn_table(getattr(sklearn.datasets, loader))
    y = np.asarray(y, dtype=np.int64)
    pool, ev = stratified_split(y)
    k = len(names)
    smallest = int(np.bincount(y[pool], minlength=k).min())
    budgets = tuple(min(b, smallest) * k for b in PER_CLASS)
    return BenchmarkDataset(
        name=f"tabular-{name}",
        X=_standardised(df, pool),
        y=y,
        classes=np.array(names, dtype=object),
        teacher_proba=rule(df).astype(np.float32),
        eval_idx=ev,
        pool_idx=pool,
        budgets=budgets,
        teacher=f"a rule on the raw columns: {what}",
        description=(
            f"{name} ({len(y)} rows, {df.shape[1]} columns, standardised on the pool rows); "
            f"{EVAL_FRACTION:.0%} of the rows, stratified, are the evaluation set."
        ),
    )


def _load_tabular_digits(cache_dir=None, verbose=1, max_rows=None):
    ds = _load_digits(0.8, "teacher0.8", max_rows=max_rows)
    ds.name = "tabular-digits"
    ds.budgets = tuple(b * 10 for b in PER_CLASS)
    return ds  # its group stays "digits": the same rows as the digits cases


def _loader(name):
    def load(cache_dir=None, verbose=1, max_rows=None):
        return _load_table(name, cache_dir=cache_dir, verbose=verbose, max_rows=max_rows)

    return load


#: Loaders of the tabular cases, by dataset name.
TABULAR_DATASETS = {f"tabular-{name}": _loader(name) for name in TABLES}
TABULAR_DATASETS["tabular-digits"] = _load_tabular_digits
