"""LLMProvider's limits (deadline, prompt and answer size), broken replies, tables and throughput.

Every test talks to :class:`zeromatch_sk.testing.FakeLLMServer` over the
loopback interface through the real ``openai`` client.
"""

from __future__ import annotations

import _thread
import signal
import sqlite3
import threading
import time

import numpy as np
import pytest

pytest.importorskip("openai")

from zeromatch_sk.providers import LLMProvider, LLMProviderError
from zeromatch_sk.testing import FakeLLMServer

CLASSES = ["business", "sports", "technology", "world"]
ANSWERS = {"goal": "sports", "Stocks": "Business.", "chip": "technology"}


# Every test runs without a real endpoint or key, on a fresh memory cache (conftest.py).
pytestmark = pytest.mark.usefixtures("isolated_llm")


def make(server, **params):
    params = {"model": "m", "base_url": server.base_url, "verbose": 0, "backoff_base": 0.01, **params}
    return LLMProvider(**params)


def user_messages(server):
    return [body["messages"][-1]["content"] for body in server.requests]


# --------------------------------------------------------------------------- the deadline
def test_a_trickling_server_is_cut_off_at_the_deadline():
    with FakeLLMServer(ANSWERS) as srv:
        # about 400 bytes at one byte per 0.05 s: 20 s if the client waited for all of it
        srv.add_fault(trickle=0.05, times=None)
        teacher = make(srv, timeout=0.5, max_retries=1)
        start = time.monotonic()
        with pytest.raises(LLMProviderError, match=r"after 2 attempts.*timeout=0.5"):
            teacher.predict_proba(["A late goal."], CLASSES)
        assert time.monotonic() - start < 5  # two deadlines and a backoff, not 40 s
        assert srv.n_requests == 2


def test_a_server_that_trickles_its_headers_is_cut_off_at_the_deadline():
    with FakeLLMServer(ANSWERS) as srv:
        # the status line and headers alone take about 8 s at one byte per 0.05 s
        srv.add_fault(trickle=0.05, trickle_headers=True, times=None)
        teacher = make(srv, timeout=0.5, max_retries=1)
        start = time.monotonic()
        with pytest.raises(LLMProviderError, match=r"after 2 attempts.*timeout=0.5"):
            teacher.predict_proba(["A late goal."], CLASSES)
        assert time.monotonic() - start < 3  # two deadlines and a backoff
        assert srv.n_requests == 2


def test_a_request_that_trickled_once_is_retried_and_answered():
    with FakeLLMServer(ANSWERS) as srv:
        srv.add_fault(trickle=0.05, times=1)
        teacher = make(srv, timeout=0.5)
        P = teacher.predict_proba(["A late goal."], CLASSES)
    np.testing.assert_array_equal(P, [[0, 1, 0, 0]])
    assert teacher.usage_["retries"] == 1


@pytest.fixture
def python_sigint_handler():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_does_not_wait_for_a_trickling_request(python_sigint_handler):
    with FakeLLMServer(ANSWERS) as srv:
        srv.add_fault(trickle=0.05, times=None)
        teacher = make(srv, timeout=30.0)

        def press_ctrl_c():
            while srv.n_requests < 1:
                time.sleep(0.01)
            time.sleep(0.3)  # the answer is trickling now
            _thread.interrupt_main()

        watcher = threading.Thread(target=press_ctrl_c, daemon=True)
        watcher.start()
        start = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            teacher.predict_proba(["A late goal."], CLASSES)
        waited = time.monotonic() - start
        watcher.join()
    assert waited < 5  # not the 30 s timeout, nor the 20 s the trickle would take


# --------------------------------------------------------------------------- broken replies
@pytest.mark.parametrize("content", [5, 2.5, ["sports"], {"text": "sports"}, True])
def test_non_string_content_is_a_clear_error_and_is_never_cached(tmp_path, content):
    cache = tmp_path / "labels.sqlite"
    with FakeLLMServer(ANSWERS) as srv:
        srv.add_fault(content=content, times=None, match="goal")
        # One request at a time, the good row first: a failure stops the run and
        # cancels what is in flight, so with concurrency the good row's fate is a race.
        teacher = make(srv, cache=cache, max_retries=1, max_concurrency=1)
        with pytest.raises(LLMProviderError, match=r"malformed response.*not a string"):
            teacher.predict_proba(["Stocks fell.", "A late goal."], CLASSES)
        with sqlite3.connect(cache) as conn:
            assert conn.execute("SELECT COUNT(*) FROM llm_answers").fetchone()[0] == 1  # only "Stocks"

        srv.reset()  # the server is fixed: the bad row is asked again, the good one is not
        P = make(srv, cache=cache).predict_proba(["Stocks fell.", "A late goal."], CLASSES)
        assert srv.n_requests == 1 and user_messages(srv)[0].count("A late goal.") == 1
    np.testing.assert_array_equal(P, [[1, 0, 0, 0], [0, 1, 0, 0]])


def test_null_content_names_no_class():
    with FakeLLMServer(ANSWERS) as srv:
        srv.add_fault(content=None)
        teacher = make(srv)
        with pytest.warns(UserWarning, match="named no class"):
            P = teacher.predict_proba(["A late goal."], CLASSES)
    np.testing.assert_array_equal(P, np.full((1, 4), 0.25))
    assert teacher.n_unparseable_ == 1 and teacher.answers_[0] == ""


# --------------------------------------------------------------------------- answer size
def test_a_long_answer_is_cut_before_parsing_and_caching(tmp_path):
    long_answer = "Sports. " + "And a very long explanation. " * 4000  # about 116,000 characters
    cache = tmp_path / "labels.sqlite"
    with FakeLLMServer({"goal": long_answer, "chip": "technology"}, logprobs=False) as srv:
        teacher = make(srv, cache=cache, max_answer_chars=100, max_tokens=None)
        with pytest.warns(UserWarning, match=r"1 of 2 answers were longer than max_answer_chars=100"):
            P = teacher.predict_proba(["A late goal.", "A chip."], CLASSES)
    np.testing.assert_array_equal(P[0], [0, 1, 0, 0])
    assert len(teacher.answers_[0]) == 100 and teacher.usage_["answers_cut"] == 1
    with sqlite3.connect(cache) as conn:
        longest = conn.execute("SELECT MAX(LENGTH(record)) FROM llm_answers").fetchone()[0]
    assert longest < 1000


@pytest.mark.filterwarnings("ignore:LLMProvider.*named no class")
def test_a_huge_response_is_refused_not_kept_and_not_cached(tmp_path):
    huge = "sports " + "x" * 3_000_000  # over the 2 MiB the default max_answer_chars allows
    cache = tmp_path / "labels.sqlite"
    with FakeLLMServer({"goal": huge, "Stocks": "Business"}, token_chars=10**7) as srv:
        teacher = make(srv, cache=cache, max_tokens=None)
        with pytest.warns(UserWarning, match=r"1 of 2 responses were larger than 2097152 bytes"):
            P = teacher.predict_proba(["A late goal.", "Stocks fell."], CLASSES)
        np.testing.assert_array_equal(P, [[0.25] * 4, [1, 0, 0, 0]])
        assert teacher.usage_["answers_refused"] == 1 and srv.n_requests == 2  # refused, not retried
        assert teacher.answers_[0] == ""
        with sqlite3.connect(cache) as conn:
            assert conn.execute("SELECT COUNT(*) FROM llm_answers").fetchone()[0] == 1
        with pytest.warns(UserWarning, match="refused"):
            make(srv, cache=cache, max_tokens=None).predict_proba(["A late goal."], CLASSES)
        assert srv.n_requests == 3  # not cached: asked again


# --------------------------------------------------------------------------- prompt size
def test_a_long_text_is_cut_to_fit_max_prompt_chars():
    texts = ["A late goal. " + "word " * 20_000, "Stocks fell."]
    with FakeLLMServer(ANSWERS) as srv:
        teacher = make(srv, max_prompt_chars=1_000)
        with pytest.warns(UserWarning, match=r"1 of 2 rows had texts too long for max_prompt_chars=1000"):
            P = teacher.predict_proba(texts, CLASSES)
        sent = user_messages(srv)
    assert max(len(m) for m in sent) <= 1_000
    assert teacher.usage_["prompts_cut"] == 1
    np.testing.assert_array_equal(P, [[0, 1, 0, 0], [1, 0, 0, 0]])


def test_the_default_prompt_limit_and_none():
    text = "A late goal. " + "x" * 9_600_000  # 9.6 MB
    with FakeLLMServer(ANSWERS) as srv:
        with pytest.warns(UserWarning, match="max_prompt_chars=32000"):
            make(srv).predict_proba([text], CLASSES)
        assert len(user_messages(srv)[0]) <= 32_000
        make(srv, max_prompt_chars=None).predict_proba(["Stocks fell. " + "y" * 50_000], CLASSES)
        assert len(user_messages(srv)[1]) > 50_000


def test_a_prompt_limit_with_no_room_for_the_text_is_a_clear_error():
    with FakeLLMServer(ANSWERS) as srv:
        with pytest.raises(ValueError, match=r"max_prompt_chars=20 leaves no room.*Raise max_prompt_chars"):
            make(srv, max_prompt_chars=20).predict_proba(["A late goal."], CLASSES)
        assert srv.n_requests == 0


# --------------------------------------------------------------------------- tables
@pytest.fixture
def table():
    pd = pytest.importorskip("pandas")
    return pd.DataFrame(
        {"headline": ["A late goal", "Stocks fell", "A goal"], "words": [3, 2, np.nan], "source": list("abc")}
    )


def test_dataframe_rows_become_column_value_lines(table):
    with FakeLLMServer(ANSWERS) as srv:
        P = make(srv).predict_proba(table, CLASSES)
        sent = user_messages(srv)
    assert any("Text: headline: A late goal\nwords: 3.0\nsource: a\n" in m for m in sent)
    assert any("Text: headline: A goal\nwords: NA\nsource: c\n" in m for m in sent)
    np.testing.assert_array_equal(P, np.eye(4)[[1, 0, 1]])


@pytest.mark.filterwarnings("ignore:LLMProvider.*named no class")
def test_row_format_string_and_callable(table):
    with FakeLLMServer(ANSWERS) as srv:
        make(srv, row_format="{headline} (source {source})").predict_proba(table, CLASSES)
        assert any("Text: A late goal (source a)\n" in m for m in user_messages(srv))
        srv.reset()
        make(srv, row_format=lambda row: row["headline"].upper()).predict_proba(table[["headline"]], CLASSES)
        assert any("Text: STOCKS FELL\n" in m for m in user_messages(srv))


@pytest.mark.parametrize(
    "row_format, X, error, match",
    [
        ("{title}", None, ValueError, r"row_format='\{title\}' cannot be filled.*columns: \['headline'"),
        ("{}", None, ValueError, "row_format"),
        (lambda row: 5, None, TypeError, "row_format returned int"),
        ("{headline}", ["a text"], ValueError, "row_format applies to the rows of a pandas DataFrame"),
    ],
)
def test_bad_row_formats_are_clear_errors(table, row_format, X, error, match):
    with FakeLLMServer(ANSWERS) as srv:
        with pytest.raises(error, match=match):
            make(srv, row_format=row_format).predict_proba(table if X is None else X, CLASSES)
        assert srv.n_requests == 0


# --------------------------------------------------------------------------- throughput properties
def test_concurrency_limit_holds_and_nothing_is_asked_twice():
    texts = [f"Report {i}: a goal in the match." for i in range(200)] * 2  # every text twice
    with FakeLLMServer(ANSWERS, latency=0.005) as srv:
        teacher = make(srv, max_concurrency=5)
        P = teacher.predict_proba(texts, CLASSES)
        assert 2 <= srv.max_in_flight <= 5
        assert srv.n_requests == 200 and set(srv.prompt_counts.values()) == {1}
        make(srv, max_concurrency=5).predict_proba(texts[::-1], CLASSES)  # all from the cache
        assert srv.n_requests == 200
    np.testing.assert_array_equal(P, np.eye(4)[[1] * 400])


@pytest.mark.filterwarnings("ignore:LLMProvider.*named no class")
def test_a_huge_body_without_content_length_is_refused_as_it_streams_in():
    """The size check does not rely on Content-Length: it counts bytes as they arrive."""
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    sent = []

    def serve_once():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
            chunk = b'{"choices": [{"message": {"content": "' + b"x" * 65536
            try:
                for _ in range(200):  # up to 13 MB, never finished
                    conn.sendall(chunk)
                    sent.append(len(chunk))
            except OSError:  # the client hung up: what this test wants
                pass

    thread = threading.Thread(target=serve_once, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    teacher = LLMProvider(model="m", base_url=url, verbose=0, max_retries=0)
    with pytest.warns(UserWarning, match="refused without being read whole"):
        P = teacher.predict_proba(["A late goal."], CLASSES)
    thread.join(timeout=10)
    listener.close()
    np.testing.assert_array_equal(P, np.full((1, 4), 0.25))
    assert teacher.usage_["answers_refused"] == 1
    assert sum(sent) < 200 * 65536  # the client stopped reading long before the end
