"""LLMProvider against a real HTTP server on 127.0.0.1 that speaks chat completions.

Every test talks to :class:`FakeLLMServer` over the loopback interface through
the real ``openai`` client: no network, no mocks of the protocol.
"""

from __future__ import annotations

import _thread
import copy
import logging
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

pytest.importorskip("openai")

from zeromatch_sk.providers import LLMProvider, TeacherError, teacher_predict_proba
from zeromatch_sk.providers._llm import BudgetExceededError, LLMProviderError, parse_answer
from zeromatch_sk.testing import FakeLLMServer, tokenize

CLASSES = ["business", "sports", "technology", "world"]
ANSWERS = {
    "goal": "sports",
    "Stocks": "Business.",
    "election": "The topic is world.",
    "software": "TECHNOLOGY",
}
TEXTS = [
    "A late goal won the cup.",
    "Stocks fell sharply on Monday.",
    "The election results are in.",
    "New software update released.",
]
EXPECTED = np.array([1, 0, 3, 2])  # indices into CLASSES


# Every test runs without a real endpoint or key, on a fresh memory cache (conftest.py).
pytestmark = pytest.mark.usefixtures("isolated_llm")


@pytest.fixture
def server():
    with FakeLLMServer(ANSWERS) as srv:
        yield srv


def make(server, **params):
    params = {
        "model": "fake-model",
        "base_url": server.base_url,
        "verbose": 0,
        "backoff_base": 0.01,
        "backoff_max": 0.2,
        **params,
    }
    return LLMProvider(**params)


def many_texts(n, word="goal"):
    return [f"Report {i}: a {word} in the match." for i in range(n)]


# --------------------------------------------------------------------------- labels and probabilities
def test_one_hot_labels_follow_the_order_of_classes(server):
    teacher = make(server, logprobs=False)
    P = teacher.predict_proba(TEXTS, CLASSES)
    np.testing.assert_array_equal(P, np.eye(4)[EXPECTED])
    assert teacher.n_unparseable_ == 0 and teacher.n_multiple_ == 0
    assert list(teacher.answers_) == ["sports", "Business.", "The topic is world.", "TECHNOLOGY"]
    assert all("logprobs" not in body for body in server.requests)

    reordered = CLASSES[::-1]
    P2 = make(server, logprobs=False).predict_proba(TEXTS, reordered)
    np.testing.assert_array_equal(P2, P[:, ::-1])


def test_soft_labels_from_token_logprobs(server):
    answers = {
        "goal": {"sports": 0.7, "business": 0.2, "world": 0.1},
        # the class mention is not the first token, and "technology" is two tokens
        "chip": {"The topic is technology.": 0.6, "The topic is business.": 0.3, "The topic is sports.": 0.1},
    }
    assert tokenize(" technology") == [" techn", "ology"]
    with FakeLLMServer(answers) as srv:
        teacher = make(srv)
        P = teacher.predict_proba(["A goal!", "A new chip."], CLASSES)
    np.testing.assert_allclose(P[0], [0.2, 0.7, 0.0, 0.1], atol=1e-9)
    np.testing.assert_allclose(P[1], [0.3, 0.1, 0.6, 0.0], atol=1e-9)
    assert all(body["logprobs"] is True and body["top_logprobs"] == 20 for body in srv.requests)


def test_soft_labels_with_class_names_mapping():
    answers = {"goal": {"Sports": 0.9, "Business": 0.1}}
    with FakeLLMServer(answers) as srv:
        teacher = make(srv, class_names={0: "business", 1: "sports"})
        P = teacher.predict_proba(["a goal"], np.array([0, 1]))
    np.testing.assert_allclose(P, [[0.1, 0.9]])
    assert "business, sports" in srv.requests[0]["messages"][-1]["content"]


def test_logprobs_auto_falls_back_to_one_hot_when_refused():
    with FakeLLMServer(ANSWERS, logprobs="reject") as srv:
        teacher = make(srv, max_concurrency=1)
        P = teacher.predict_proba(TEXTS, CLASSES)
    np.testing.assert_array_equal(P, np.eye(4)[EXPECTED])
    # one refused request, then every request goes without logprobs
    assert srv.n_requests == len(TEXTS) + 1
    assert [bool(b.get("logprobs")) for b in srv.requests] == [True] + [False] * len(TEXTS)


def test_logprobs_true_refused_is_a_clear_error():
    with (
        FakeLLMServer(ANSWERS, logprobs="reject") as srv,
        pytest.raises(LLMProviderError, match="logprobs='auto'"),
    ):
        make(srv, logprobs=True).predict_proba(TEXTS, CLASSES)


def test_logprobs_true_silently_ignored_warns():
    with (
        FakeLLMServer(ANSWERS, logprobs=False) as srv,
        pytest.warns(UserWarning, match="without token log-probabilities"),
    ):
        P = make(srv, logprobs=True).predict_proba(TEXTS, CLASSES)
    np.testing.assert_array_equal(P, np.eye(4)[EXPECTED])


# --------------------------------------------------------------------------- the matching rule
def test_answers_naming_no_class_or_several_follow_the_rule():
    answers = {
        "t0": "I cannot tell.",  # no class: abstain
        "t1": "sports, not business",  # two classes: the first named wins
        "t2": "Business or sports? Business.",  # two classes: business is first
        "t3": "sportsmanship matters",  # not a whole word: no class
        "t4": "SPORTS",
    }
    texts = ["t0", "t1", "t2", "t3", "t4"]
    with FakeLLMServer(answers) as srv:
        teacher = make(srv, logprobs=False)
        P = teacher.predict_proba(texts, CLASSES)
        np.testing.assert_array_equal(P[0], np.full(4, 0.25))
        np.testing.assert_array_equal(P[1:3], np.eye(4)[[1, 0]])
        np.testing.assert_array_equal(P[3], np.full(4, 0.25))
        np.testing.assert_array_equal(P[4], np.eye(4)[1])
        assert (teacher.n_unparseable_, teacher.n_abstained_, teacher.n_multiple_) == (2, 2, 2)

        teacher = make(srv, logprobs=False, default_label="world")
        P = teacher.predict_proba(texts, CLASSES)
        np.testing.assert_array_equal(P[[0, 3]], np.eye(4)[[3, 3]])
        assert (teacher.n_unparseable_, teacher.n_abstained_) == (2, 0)


def test_longest_name_wins_at_the_same_position():
    with FakeLLMServer({"x": "World news, surely."}) as srv:
        P = make(srv).predict_proba(["x"], ["world", "world_news"])
    np.testing.assert_array_equal(P, [[0.0, 1.0]])


def test_parse_answer_rule():
    names = ["world", "sports", "sci/tech", "world news"]
    assert parse_answer("Sports", names) == 1
    assert parse_answer("the answer: SCI/TECH.", names) == 2
    assert parse_answer("World News", names) == 3
    assert parse_answer("world-news", names) == 3
    assert parse_answer("sports and world", names) == 1
    assert parse_answer("worldwide", names) is None
    assert parse_answer("", names) is None
    with pytest.raises(ValueError, match="same up to case"):
        parse_answer("x", ["World", "world"])


def test_mostly_unparseable_answers_warn():
    with FakeLLMServer({}, default_answer="Hmm.") as srv, pytest.warns(UserWarning, match="named no class"):
        P = make(srv).predict_proba(["a", "b"], CLASSES)
    np.testing.assert_array_equal(P, np.full((2, 4), 0.25))


# --------------------------------------------------------------------------- retries and errors
def test_retries_succeed_after_transient_faults(server):
    server.add_fault(429, retry_after=0.01, times=2)
    server.add_fault(500)
    server.add_fault(503)
    server.add_fault(malformed=True)
    server.add_fault(delay=2.5)  # beyond the timeout
    texts = many_texts(12)
    teacher = make(server, timeout=0.6, max_concurrency=4)
    P = teacher.predict_proba(texts, CLASSES)
    np.testing.assert_array_equal(P, np.eye(4)[[1] * 12])
    retries = teacher.usage_["retries"]
    assert retries >= 6  # one per fault (more only if a loaded machine makes a request time out)
    assert teacher.usage_["requests"] == server.n_requests == 12 + retries
    assert teacher.usage_["answers"] == 12


def test_retry_after_header_is_honoured(server):
    server.add_fault(429, retry_after=0.4)
    teacher = make(server, max_concurrency=1, backoff_base=0.0, backoff_max=5.0)
    start = time.perf_counter()
    teacher.predict_proba(TEXTS[:1], CLASSES)
    assert time.perf_counter() - start >= 0.4
    assert server.n_requests == 2


def test_last_retry_error_says_how_many_rows_are_done_and_resumes(tmp_path, server):
    server.add_fault(500, times=None, match="poison")
    texts = TEXTS + ["poison pill", TEXTS[0]]
    cache = tmp_path / "labels.sqlite"
    teacher = make(server, max_retries=2, cache=cache)
    with pytest.raises(LLMProviderError) as info:
        teacher.predict_proba(texts, CLASSES)
    message = str(info.value)
    assert "after 3 attempts" in message and "HTTP 500" in message
    assert "5 of 6 rows are labelled" in message and "labels.sqlite" in message
    assert "again resumes" in message and "1 missing rows" in message
    assert isinstance(info.value, TeacherError) and isinstance(info.value, RuntimeError)
    assert teacher.usage_["requests"] == 4 + 3  # usage_ is set even when the call fails

    server.reset()  # the fault is gone
    P = make(server, cache=cache).predict_proba(texts, CLASSES)
    assert server.n_requests == 1
    np.testing.assert_array_equal(P[[0, 1, 2, 3, 5]], np.eye(4)[[1, 0, 3, 2, 1]])


def test_unknown_model_stops_at_once_with_a_clear_error():
    with FakeLLMServer(ANSWERS, models=["llama-3.3-70b"]) as srv:
        with pytest.raises(LLMProviderError, match=r"model='gpt-9'.*/models") as info:
            make(srv, model="gpt-9", max_concurrency=1).predict_proba(TEXTS, CLASSES)
        assert srv.n_requests == 1  # not retried
        assert "404" in str(info.value)


def test_connection_refused_is_retried_then_explained():
    with FakeLLMServer() as srv:
        url = srv.base_url
    teacher = LLMProvider(base_url=url, verbose=0, max_retries=1, backoff_base=0.01)
    with pytest.raises(LLMProviderError, match="could not connect.*base_url"):
        teacher.predict_proba(["a text"], CLASSES)
    assert teacher.usage_["requests"] == 2


# --------------------------------------------------------------------------- caching and resuming
def test_second_run_sends_zero_requests(tmp_path, server):
    cache = tmp_path / "labels.sqlite"
    P1 = make(server, cache=cache).predict_proba(TEXTS, CLASSES)
    assert server.n_requests == 4

    teacher = make(server, cache=str(cache))  # a new instance, as in a grid search
    P2 = teacher.predict_proba(TEXTS, CLASSES)
    assert server.n_requests == 4
    np.testing.assert_array_equal(P1, P2)
    assert teacher.usage_["requests"] == 0 and teacher.usage_["cache_hits"] == 4

    # a superset asks only for the new text
    make(server, cache=cache).predict_proba(TEXTS + ["Another goal."], CLASSES)
    assert server.n_requests == 5


def test_memory_cache_dedups_within_the_process_across_clones(server):
    teacher = make(server)
    teacher.predict_proba(TEXTS, CLASSES)
    clone(teacher).predict_proba(TEXTS[::-1], CLASSES)
    copy.deepcopy(teacher).predict_proba(TEXTS, CLASSES)
    assert server.n_requests == 4
    LLMProvider.clear_memory_cache()
    teacher.predict_proba(TEXTS, CLASSES)
    assert server.n_requests == 8


def test_duplicate_texts_are_asked_once(server):
    teacher = make(server)
    P = teacher.predict_proba([TEXTS[0]] * 5 + [TEXTS[1]], CLASSES)
    assert server.n_requests == 2
    assert teacher.usage_["unique_texts"] == 2 and P.shape == (6, 4)


def test_cache_key_covers_endpoint_model_and_prompt(tmp_path, server):
    cache = tmp_path / "c.sqlite"
    make(server, cache=cache).predict_proba(TEXTS, CLASSES)
    make(server, cache=cache, model="other").predict_proba(TEXTS, CLASSES)
    assert server.n_requests == 8
    make(server, cache=cache, prompt="Topic of {text}? One of {labels}.").predict_proba(TEXTS, CLASSES)
    assert server.n_requests == 12
    with FakeLLMServer(ANSWERS) as other:
        make(other, cache=cache).predict_proba(TEXTS, CLASSES)
        assert other.n_requests == 4
    # default_label is applied when reading, so changing it asks nothing
    make(server, cache=cache, default_label="world").predict_proba(TEXTS, CLASSES)
    assert server.n_requests == 12


@pytest.fixture
def python_sigint_handler():
    """Python's own SIGINT handler for the test, then whatever was there before.

    ``_thread.interrupt_main()`` does nothing when SIGINT is ignored or at its
    OS default, which an earlier test or library may have left behind.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_keeps_answers_and_rerun_asks_only_for_the_rest(tmp_path, python_sigint_handler):
    texts = many_texts(60)
    cache = tmp_path / "labels.sqlite"
    with FakeLLMServer(ANSWERS, latency=0.03) as srv:
        teacher = make(srv, cache=cache, max_concurrency=2)

        def press_ctrl_c():
            while srv.n_answered < 10:
                time.sleep(0.002)
            _thread.interrupt_main()

        watcher = threading.Thread(target=press_ctrl_c, daemon=True)
        watcher.start()
        with pytest.raises(KeyboardInterrupt):
            teacher.predict_proba(texts, CLASSES)
        watcher.join()
        # The call returns at once; the (at most 2) requests already in flight end in the background.
        time.sleep(0.3)
        sent = srv.n_requests
        time.sleep(0.2)
        assert srv.n_requests == sent < 60  # nothing new is sent after the interrupt
        assert sent <= teacher.usage_["requests"] + 2

        srv.reset()
        P = teacher.predict_proba(texts, CLASSES)
        hits = teacher.usage_["cache_hits"]
        # The server counts an answer before sending it, and the stopping run drops the (at most
        # max_concurrency=2) answers still on the wire: at least 10 - 2 of the 10 answered are kept.
        assert hits >= 10 - 2
        assert srv.n_requests == 60 - hits == teacher.usage_["requests"]
        np.testing.assert_array_equal(P, np.eye(4)[[1] * 60])


def test_killed_run_resumes_and_sends_only_the_missing_requests(tmp_path):
    """SIGKILL a labelling process half-way; the rerun asks only for what is missing."""
    n = 80
    cache = tmp_path / "labels.sqlite"
    import zeromatch_sk.providers

    package_dir = Path(zeromatch_sk.providers.__file__).resolve().parents[1]
    script = textwrap.dedent(
        f"""
        import sys, types
        # Skip the package __init__ (it imports torch) so the child starts fast.
        pkg = types.ModuleType("zeromatch_sk")
        pkg.__path__ = [{str(package_dir)!r}]
        sys.modules["zeromatch_sk"] = pkg
        from zeromatch_sk.providers._llm import LLMProvider
        texts = [f"Report {{i}}: a goal in the match." for i in range({n})]
        LLMProvider(model="fake-model", base_url=sys.argv[1], cache=sys.argv[2], verbose=0,
                    max_concurrency=2).predict_proba(texts, {CLASSES!r})
        """
    )
    with FakeLLMServer(ANSWERS, latency=0.03) as srv:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        proc = subprocess.Popen([sys.executable, "-c", script, srv.base_url, str(cache)], env=env)
        try:
            deadline = time.monotonic() + 60
            while srv.n_answered < n // 3 and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            assert proc.poll() is None, "the child finished (or died) before it could be killed"
            answered = srv.n_answered
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait()
        assert proc.returncode == -signal.SIGKILL

        with sqlite3.connect(cache) as conn:
            stored = conn.execute("SELECT COUNT(*) FROM llm_answers").fetchone()[0]
        assert answered - 2 <= stored < n  # at most the answers in flight at the kill are lost

        srv.reset()
        teacher = make(srv, cache=cache, max_concurrency=2)
        P = teacher.predict_proba(many_texts(n), CLASSES)
        assert teacher.usage_["cache_hits"] == stored
        assert srv.n_requests == n - stored
        np.testing.assert_array_equal(P, np.eye(4)[[1] * n])


# --------------------------------------------------------------------------- concurrency and budgets
def test_requests_in_flight_are_bounded():
    with FakeLLMServer(ANSWERS, latency=0.05) as srv:
        teacher = make(srv, max_concurrency=3)
        teacher.predict_proba(many_texts(24), CLASSES)
    assert 2 <= srv.max_in_flight <= 3
    assert teacher.usage_["requests_per_s"] > 0


def test_budget_requests_stops_before_exceeding_it(server):
    texts = many_texts(12)
    teacher = make(server, budget_requests=5, max_concurrency=3)
    with pytest.raises(BudgetExceededError, match=r"budget_requests=5.*5 of 12 rows.*7 rows still need"):
        teacher.predict_proba(texts, CLASSES)
    assert server.n_requests == 5 == teacher.usage_["requests"]

    teacher.set_params(budget_requests=None)
    teacher.predict_proba(texts, CLASSES)
    assert server.n_requests == 12

    make(server, budget_requests=0).predict_proba(texts, CLASSES)  # all cached: free


def test_budget_requests_counts_retries(server):
    server.add_fault(500, times=3)
    with pytest.raises(BudgetExceededError):
        make(server, budget_requests=3, max_concurrency=1).predict_proba(TEXTS, CLASSES)
    assert server.n_requests == 3


def test_budget_tokens_stops_before_exceeding_it(server):
    texts = many_texts(30)
    teacher = make(server, budget_tokens=600, max_concurrency=2)
    with pytest.raises(BudgetExceededError, match="budget_tokens=600"):
        teacher.predict_proba(texts, CLASSES)
    assert 0 < teacher.usage_["total_tokens"] <= 600
    assert 0 < server.n_requests < 30


# --------------------------------------------------------------------------- the API key
def test_api_key_is_read_at_call_time_and_never_leaks(tmp_path, monkeypatch, caplog, capsys):
    secret = "sk-test-S3CRET-0123456789"
    cache = tmp_path / "labels.sqlite"
    for name in ("openai", "httpx2", "httpcore2", "httpx", "httpcore", ""):
        caplog.set_level(logging.DEBUG, logger=name)
    with FakeLLMServer(ANSWERS, api_key=secret) as srv:
        teacher = make(srv, api_key_env="ZM_TEST_LLM_KEY", cache=cache, verbose=1)
        monkeypatch.setenv("ZM_TEST_LLM_KEY", secret)  # set after construction: read at call time
        key, _ = teacher._api_key()
        assert key == secret and secret not in repr(key)  # hidden from tracebacks that show locals
        P = teacher.predict_proba(TEXTS, CLASSES)
        np.testing.assert_array_equal(P, np.eye(4)[EXPECTED])

        monkeypatch.setenv("ZM_TEST_LLM_KEY", "sk-wrong-key-987654321")
        with pytest.raises(LLMProviderError) as info:
            teacher.predict_proba(["A new text about a goal."], CLASSES)
        message = str(info.value)
        assert "401" in message and "ZM_TEST_LLM_KEY" in message
        assert "sk-wrong-key-987654321" not in message and secret not in message
        # no chained exception (whose request object holds the key) travels with the error
        assert info.value.__cause__ is None and info.value.__context__ is None

    blobs = {
        "pickle": pickle.dumps(teacher),
        "repr": repr(teacher).encode(),
        "params": repr(teacher.get_params()).encode(),
        "cache": b"".join(p.read_bytes() for p in tmp_path.iterdir()),
        "logs": "\n".join(r.getMessage() + repr(r.args) for r in caplog.records).encode(),
        "output": "".join(capsys.readouterr()).encode(),
    }
    assert caplog.records, "debug logging was not captured"
    for where, blob in blobs.items():
        assert secret.encode() not in blob, where
        assert b"sk-wrong-key" not in blob, where
    assert "_cache_store" not in pickle.loads(blobs["pickle"]).__dict__


def test_missing_key_is_a_clear_error_without_base_url():
    teacher = LLMProvider(verbose=0, api_key_env="ZM_TEST_NO_SUCH_KEY")
    with pytest.raises(ValueError, match="ZM_TEST_NO_SUCH_KEY is not set.*base_url"):
        teacher.predict_proba(["some text"], CLASSES)


def test_local_server_needs_no_key(server):
    teacher = make(server, api_key_env="ZM_TEST_NO_SUCH_KEY")
    np.testing.assert_array_equal(teacher.predict_proba(TEXTS, CLASSES), np.eye(4)[EXPECTED])


# --------------------------------------------------------------------------- inputs and parameters
@pytest.mark.parametrize(
    "X, error, match",
    [
        ("just one text", TypeError, "single string"),
        (np.zeros((3, 8)), TypeError, "holds numbers"),
        ([["a", "b"], ["c", "d"]], ValueError, "one text per row"),
        (["ok", None, "fine"], TypeError, "row 1 is NoneType"),
        (["ok", float("nan")], TypeError, "Drop or fill"),
        ([b"bytes"], TypeError, "decode"),
        (["ok", "   ", ""], ValueError, r"2 rows of X are empty .*\[1, 2\]"),
    ],
)
def test_bad_inputs_are_clear_errors(server, X, error, match):
    with pytest.raises(error, match=match):
        make(server).predict_proba(X, CLASSES)
    assert server.n_requests == 0


def test_accepted_text_containers(server):
    pd = pytest.importorskip("pandas")
    expected = np.eye(4)[EXPECTED]
    teacher = make(server)
    for X in (
        TEXTS,
        tuple(TEXTS),
        np.array(TEXTS),
        np.array(TEXTS, dtype=object).reshape(-1, 1),
        pd.Series(TEXTS, index=[10, 11, 12, 13]),
        pd.DataFrame({"text": TEXTS}),
    ):
        np.testing.assert_array_equal(teacher.predict_proba(X, CLASSES), expected)
    assert server.n_requests == 4
    assert teacher.predict_proba([], CLASSES).shape == (0, 4)


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"max_concurrency": 0}, InvalidParameterError, "max_concurrency"),
        ({"logprobs": "yes"}, InvalidParameterError, "logprobs"),
        ({"timeout": 0}, InvalidParameterError, "timeout"),
        ({"prompt": "Classify this."}, ValueError, r"\{text\} placeholder"),
        ({"default_label": "cooking"}, ValueError, "default_label='cooking' is not one of"),
        ({"class_names": ["a", "b"]}, ValueError, "class_names has 2 entries"),
        ({"base_url": "localhost:8000"}, ValueError, "http"),
    ],
)
def test_bad_parameters_are_clear_errors(server, params, error, match):
    params = {"base_url": server.base_url, **params}
    with pytest.raises(error, match=match):
        LLMProvider(verbose=0, **params).predict_proba(TEXTS, CLASSES)
    assert server.n_requests == 0


def test_cache_path_errors(tmp_path, server):
    with pytest.raises(ValueError, match="does not exist"):
        make(server, cache=tmp_path / "missing" / "c.sqlite").predict_proba(TEXTS, CLASSES)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ValueError, match="cannot be used as an LLMProvider cache"):
        make(server, cache=junk).predict_proba(TEXTS, CLASSES)


def test_integer_classes_need_class_names(server):
    with pytest.raises(ValueError, match="class_names"):
        make(server).predict_proba(TEXTS, [0, 1, 2, 3])
    P = make(server, class_names=CLASSES).predict_proba(TEXTS, np.arange(4))
    np.testing.assert_array_equal(P, np.eye(4)[EXPECTED])


# --------------------------------------------------------------------------- estimator behaviour
def test_parameters_are_not_mutated_and_pickles_work(tmp_path, server):
    cache = tmp_path / "labels.sqlite"
    teacher = make(server, cache=cache, class_names=list(CLASSES))
    before = teacher.get_params()
    teacher.predict_proba(TEXTS, CLASSES)
    after = teacher.get_params()
    assert before.keys() == after.keys()
    assert all(before[k] is after[k] for k in before)
    assert "_cache_store" in teacher.__dict__

    restored = pickle.loads(pickle.dumps(teacher))
    assert "_cache_store" not in restored.__dict__
    assert restored.usage_ == teacher.usage_
    restored.predict_proba(TEXTS, CLASSES)  # reopens the cache lazily
    assert server.n_requests == 4
    teacher.close()


def test_works_through_the_teacher_protocol(server):
    P = teacher_predict_proba(make(server), TEXTS, np.array(CLASSES, dtype=object))
    np.testing.assert_array_equal(P, np.eye(4)[EXPECTED])


def test_progress_bar_and_usage_report(server, capsys):
    make(server, verbose=1).predict_proba(TEXTS, CLASSES)
    err = capsys.readouterr().err
    assert "LLMProvider(fake-model)" in err and "4/4" in err
    assert "4 requests (0 retries)" in err and "requests/s" in err

    make(server, verbose=0).predict_proba(TEXTS + ["one more goal"], CLASSES)
    assert capsys.readouterr() == ("", "")


def test_usage_counts_tokens(server):
    teacher = make(server)
    teacher.predict_proba(TEXTS, CLASSES)
    usage = teacher.usage_
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] >= 4
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["answers"] == usage["requests"] == 4 and usage["cache_hits"] == 0


# --------------------------------------------------------------------------- the fake server itself
def test_fake_server_protocol_details():
    import openai

    with FakeLLMServer({"long": "one two three four five"}, models=["m"]) as srv:
        client = openai.OpenAI(api_key="k", base_url=srv.base_url, max_retries=0)
        assert [m.id for m in client.models.list()] == ["m"]
        reply = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "long"}], max_tokens=2
        )
        assert reply.choices[0].message.content == "one two"
        assert reply.choices[0].finish_reason == "length"
        srv.add_fault(503, times=None, match="never")
        assert srv.n_requests == 1
    with pytest.raises(RuntimeError, match="not running"):
        _ = srv.base_url


def test_soft_row_tolerates_a_stripped_reply():
    from zeromatch_sk.providers._llm import _soft_row

    # tokens carry a leading space that the server stripped from the reply text
    lp = [[" Sports", -0.2231435513, 7, [[" Business", -1.6094379124]]], [".", 0.0, 1, []]]
    row = _soft_row(lp, "Sports.", 0, 1, ["business", "sports"])
    np.testing.assert_allclose(row, [0.2, 0.8])
    assert _soft_row(lp, "Something else", 0, 1, ["business", "sports"]) is None
