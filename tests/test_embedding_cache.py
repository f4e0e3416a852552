"""The embedding cache: rows once per content, on-disk chunks that resume and serve any subset, one copy in memory."""

from __future__ import annotations

import tempfile
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zeromatch_sk._foundation import _cache
from zeromatch_sk._foundation._cache import embed, text_digest
from zeromatch_sk._foundation._registry import clear_caches

DIM = 8


def vector(item: int, dim: int = DIM) -> np.ndarray:
    return np.cos(item * np.arange(1, dim + 1, dtype=np.float64)).astype(np.float32)


class Encoder:
    """A fake model: records what it is asked, and can fail after a number of batches."""

    def __init__(self, dim: int = DIM, fail_after: int | None = None, error=KeyboardInterrupt):
        self.dim, self.fail_after, self.error = dim, fail_after, error
        self.seen: list[int] = []
        self.batches = 0

    def __call__(self, batch):
        if self.fail_after is not None and self.batches >= self.fail_after:
            raise self.error("interrupted")
        self.batches += 1
        self.seen.extend(batch)
        return np.stack([vector(i, self.dim) for i in batch])


def run(items, encoder, memory=None, model_id=("fake", "m"), **kwargs):
    return embed(
        items,
        [text_digest(str(i)) for i in items],
        encoder,
        model_id=model_id,
        memory=memory,
        verbose=0,
        **kwargs,
    )


@pytest.fixture(autouse=True)
def fresh_caches():
    clear_caches()
    yield
    clear_caches()


def test_interrupted_run_resumes_where_it_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(_cache, "CHUNK_ROWS", 10)
    items = list(range(100))
    with pytest.raises(KeyboardInterrupt):
        run(items, Encoder(fail_after=7), memory=tmp_path, batch_size=4)  # 28 rows done
    clear_caches()  # as in a new process: only the disk is left
    again = Encoder()
    E = run(items, again, memory=tmp_path, batch_size=4)
    assert sorted(again.seen) == items[28:]  # nothing encoded twice, nothing lost
    np.testing.assert_array_equal(E, np.stack([vector(i) for i in items]))


def test_disk_chunks_serve_a_subset_and_a_new_order(tmp_path):
    items = list(range(50))
    E = run(items, Encoder(), memory=tmp_path)
    clear_caches()
    fold = items[::3][::-1]
    encoder = Encoder()
    np.testing.assert_array_equal(run(fold, encoder, memory=str(tmp_path)), E[fold])
    assert encoder.seen == []
    assert run(items, Encoder(), memory=tmp_path, model_id=("fake", "other")).shape == (
        50,
        DIM,
    )  # another model


def test_an_unreadable_chunk_is_encoded_again(tmp_path):
    run(list(range(5)), Encoder(), memory=tmp_path)
    clear_caches()
    for rows_file in tmp_path.rglob("*.rows.npy"):
        rows_file.write_bytes(b"not an array")
    encoder = Encoder()
    np.testing.assert_array_equal(
        run(list(range(5)), encoder, memory=tmp_path), np.stack([vector(i) for i in range(5)])
    )
    assert sorted(encoder.seen) == list(range(5))


def test_rows_are_encoded_in_the_order_given_and_returned_in_input_order():
    items = [3, 1, 2, 1, 3]
    encoder = Encoder()
    E = run(items, encoder, order=[4, 3, 2, 1, 0], batch_size=2)
    assert encoder.seen == [2, 1, 3]  # a repeated content takes its first row's place; encoded once
    np.testing.assert_array_equal(E, np.stack([vector(i) for i in items]))


def test_an_encoder_of_the_wrong_shape_is_named():
    with pytest.raises(ValueError, match=r"one embedding per row, shape \(n_rows, dim\)"):
        run([1, 2, 3], lambda batch: np.zeros((1, DIM)))


def test_a_large_encoding_holds_its_rows_once(tmp_path, monkeypatch):
    # 20,000 x 384 float32 = 29 MiB: the output is allocated once and filled in
    # place; the disk chunks are written from slices of it, not from copies.
    n, dim = 20_000, 384
    items = list(range(n))
    digests = [text_digest(str(i)) for i in items]
    out_bytes = n * dim * 4

    def encode(batch):
        return np.ones((len(batch), dim), dtype=np.float32)

    for memory in (None, tmp_path):
        clear_caches()
        monkeypatch.setattr(
            _cache, "MAX_CACHED_BYTES", 0
        )  # without disk, the in-memory copies are its own limit
        tracemalloc.start()
        E = embed(items, digests, encode, model_id=("big",), memory=memory, batch_size=256, verbose=0)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert E.shape == (n, dim)
        assert peak < 1.25 * out_bytes, (memory, peak / out_bytes)


@settings(max_examples=30, deadline=None)
@given(
    items=st.lists(st.integers(0, 40), min_size=1, max_size=60),
    fold=st.lists(st.integers(0, 40), min_size=1, max_size=30),
    chunk=st.integers(1, 9),
    batch=st.integers(1, 7),
    fail_after=st.integers(0, 6),
)
def test_any_interruption_then_any_subset_gives_the_encoder_rows(items, fold, chunk, batch, fail_after):
    truth = {i: vector(i) for i in range(41)}
    old = _cache.CHUNK_ROWS
    _cache.CHUNK_ROWS = chunk
    try:
        with tempfile.TemporaryDirectory() as folder:
            clear_caches()
            try:
                run(
                    items, Encoder(fail_after=fail_after, error=RuntimeError), memory=folder, batch_size=batch
                )
            except RuntimeError:
                pass
            clear_caches()
            encoder = Encoder()
            E = run(items + fold, encoder, memory=folder, batch_size=batch)
            np.testing.assert_array_equal(E, np.stack([truth[i] for i in items + fold]))
            assert len(encoder.seen) == len(set(encoder.seen))  # each content at most once
            done_before = set(items) - set(encoder.seen)
            assert len(done_before) >= min(fail_after * batch, len(set(items)))  # finished work kept
    finally:
        _cache.CHUNK_ROWS = old
        clear_caches()


def test_rows_cached_in_memory_reach_the_disk_store(tmp_path):
    run(list(range(6)), Encoder())  # in memory only
    run(list(range(6)), Encoder(), memory=tmp_path)  # served from memory, written to disk
    clear_caches()
    encoder = Encoder()
    run(list(range(6)), encoder, memory=tmp_path)
    assert encoder.seen == []
