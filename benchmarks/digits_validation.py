"""Why ZeroMatch loses to LabelSpreading on digits: a few settings, scored on a validation slice of the pool.

    python benchmarks/digits_validation.py [N_JOBS]

The evaluation rows of the benchmark are never used: every run scores on a
stratified 25 % slice carved from the training pool (``validation_view``).
Writes benchmarks/digits_validation_results.md.
"""

import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

from zeromatch_sk.augment import GaussianNoise, Scarf
from zeromatch_sk.benchmark import Method, load_dataset, run_benchmark, validation_view
from zeromatch_sk.benchmark._methods import label_spreading

n_jobs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
datasets = [validation_view(load_dataset(n, verbose=0)) for n in ("digits-teacher0.8", "digits-teacher0.5")]
settings = {
    "ZeroMatch (defaults)": {},
    "strong = Scarf(rate=0.2)": {"strong_augment": Scarf(rate=0.2)},
    "weak and strong: Gaussian noise 0.1 / 0.3": {
        "weak_augment": GaussianNoise(0.1), "strong_augment": GaussianNoise(0.3)},
    "max_epochs=120": {"max_epochs": 120},
    "p_cutoff=0.8": {"p_cutoff": 0.8},
    "lr=3e-4": {"lr": 3e-4},
}  # fmt: skip
methods = [Method("LabelSpreading", "semi", factory=label_spreading, cost=0.1)]
methods += [Method(name, "semi+teacher", params=params) for name, params in settings.items()]
results = run_benchmark(datasets, methods, seeds=3, n_jobs=n_jobs, progress=False)
text = results.markdown()
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits_validation_results.md")
with open(out, "w", encoding="utf-8") as fh:
    fh.write(text)
print(text)
