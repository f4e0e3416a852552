"""The dataset loaders that read files a user installs (Debian's fortunes)."""

import numpy as np
import pytest

from zeromatch_sk.datasets import FORTUNES_PATH, load_fortunes


def _write(folder, name, texts):
    (folder / name).write_text("\n%\n".join(texts) + "\n%\n", encoding="utf-8")


def test_fortunes_are_split_on_percent_lines_and_shared_texts_dropped(tmp_path):
    _write(tmp_path, "computers", ["A  byte\n walks into a bar.", "Unix is user friendly.", "Shared text."])
    _write(tmp_path, "food", ["An apple a day.", "Shared text."])
    ds = load_fortunes(["computers", "food"], path=tmp_path, class_names={"computers": "IT", "food": "meals"})
    assert sorted(ds.data) == ["A byte walks into a bar.", "An apple a day.", "Unix is user friendly."]
    assert dict(zip(ds.data, ds.target)) == {
        "A byte walks into a bar.": "computers",
        "Unix is user friendly.": "computers",
        "An apple a day.": "food",
    }
    assert ds.class_names == {"computers": "IT", "food": "meals"}
    assert "{}" in ds.template


def test_a_missing_fortunes_file_names_the_package(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install fortunes"):
        load_fortunes(["nope"], path=tmp_path)


@pytest.mark.skipif(
    not (FORTUNES_PATH / "computers").is_file(), reason="Debian's fortunes package is not installed"
)
def test_the_installed_fortunes_load_with_distinct_texts():
    ds = load_fortunes(["computers", "politics"])
    assert len(ds.data) == len(set(ds.data)) > 1000
    assert set(np.unique(ds.target)) == {"computers", "politics"}
