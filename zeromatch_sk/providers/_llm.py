"""LLMProvider: zero-shot pseudo-labels from an OpenAI-compatible chat-completions endpoint.

The paper's strongest teachers (GPT-4o, GPT-4.1, Llama-3.3-70B) are reached
only through inference services. :class:`LLMProvider` asks any endpoint that
speaks the chat-completions protocol (the hosted APIs, vLLM, llama.cpp's
server, Ollama, ...) to classify each text, and turns the answers into
pseudo-labels:

- the answer names a class: case-insensitive, whole-word matching of the
  class names (see :func:`parse_answer` for the rule when several match);
- where the endpoint returns token log-probabilities, the row holds real
  class probabilities (a soft pseudo-label), otherwise it is one-hot;
- answers naming no class get ``default_label``, or a uniform row (abstain).

Requests run concurrently (a bounded number in flight), are retried with
exponential backoff and jitter on rate limits, 5xx answers, timeouts and
connection errors, and every answer is written to a cache as it arrives, so a
rerun after a crash, a Ctrl-C or an exhausted budget asks only for what is
missing. The protocol is spoken by the ``openai`` package (the ``llm`` extra:
``pip install "zeromatch-sk[llm]"``).
"""

from __future__ import annotations

import email.utils
import hashlib
import importlib
import json
import math
import os
import random
import re
import sqlite3
import sys
import threading
import time
import warnings
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from .._foundation._texts import check_texts
from ._base import BaseProvider, TeacherError, resolve_class_names

__all__ = [
    "DEFAULT_PROMPT",
    "BudgetExceededError",
    "LLMProvider",
    "LLMProviderError",
    "parse_answer",
]

#: Prompt used when ``prompt`` is not given. ``{labels}`` becomes the class
#: names joined by ", " and ``{text}`` the row's text.
DEFAULT_PROMPT = (
    "Classify the text into exactly one of these categories: {labels}.\n"
    "Answer with the category name only.\n\n"
    "Text: {text}\n\n"
    "Category:"
)

#: Placeholder key sent to endpoints given by ``base_url`` when the API-key
#: variable is unset (local servers usually ignore the key; the client needs one).
PLACEHOLDER_API_KEY = "no-key-set"

#: Alternatives below this log-probability (probability 1e-4) are not kept:
#: they cannot change a pseudo-label and would bloat the cache.
_MIN_LOGPROB = math.log(1e-4)
_CACHE_FORMAT = 1
_POLL_SECONDS = 0.1
#: A response body may hold this many bytes per character of ``max_answer_chars``
#: (log-probabilities make bodies far larger than the answer), and at least 1 MiB.
_BODY_BYTES_PER_CHAR = 512
_MIN_BODY_BYTES = 1 << 20


class LLMProviderError(TeacherError, RuntimeError):
    """The inference service could not label every row.

    Rows answered before the failure are in the cache: calling
    ``predict_proba`` again resumes and asks only for the missing rows.
    """


class BudgetExceededError(LLMProviderError):
    """``budget_requests`` or ``budget_tokens`` would be exceeded; raised before it is."""


# --------------------------------------------------------------------------- answers -> labels
_SEPARATORS = r"[\s_\-]+"
# A mention starts and ends at a letter or digit boundary; '_' and '-' count as separators.
_BEFORE, _AFTER = r"(?<![^\W_])", r"(?![^\W_])"


def _normalize_name(name: str) -> str:
    return re.sub(_SEPARATORS, " ", name).strip().lower()


def _name_pattern(name: str) -> re.Pattern:
    parts = [p for p in re.split(_SEPARATORS, name) if p]
    return re.compile(_BEFORE + _SEPARATORS.join(re.escape(p) for p in parts) + _AFTER, re.IGNORECASE)


def _class_patterns(names: list[str]) -> list[re.Pattern]:
    for name in names:
        if not _normalize_name(name):
            raise ValueError(
                f"The class name {name!r} is empty or only spaces, '_' and '-'; the LLM's answers could "
                f"never name that class. Give every class a name with letters or digits with "
                f"class_names=[...]."
            )
    patterns = [_name_pattern(n) for n in names]
    cores = [" ".join(re.split(_SEPARATORS, n)).strip() for n in names]
    for i, pattern in enumerate(patterns):
        for j in range(len(names)):
            if i != j and pattern.fullmatch(cores[j]):
                raise ValueError(
                    f"The class names {names[min(i, j)]!r} and {names[max(i, j)]!r} are the same up to "
                    f"case, spaces, '_' or '-', so answers cannot tell them apart. Give distinct names "
                    f"with class_names=[...]."
                )
    return patterns


def _mentions(answer: str, patterns: list[re.Pattern]) -> list[tuple[int, int, int]]:
    """Non-overlapping class mentions ``(start, end, class_index)``, left to right.

    At the same position the longest name wins, so with the classes "world"
    and "world news", "World news" is one mention of "world news".
    """
    spans = []
    for j, pattern in enumerate(patterns):
        for m in pattern.finditer(answer):
            spans.append((m.start(), -(m.end() - m.start()), j, m.end()))
    spans.sort()
    kept: list[tuple[int, int, int]] = []
    last_end = -1
    for start, _, j, end in spans:
        if start >= last_end:
            kept.append((start, end, j))
            last_end = end
    return kept


def parse_answer(answer: str, class_names: list[str]) -> int | None:
    """Index of the class an LLM answer names, or None if it names none.

    The rule, the one :class:`LLMProvider` applies:

    1. A class is *named* where its name occurs in the answer as a whole word
       (not inside a longer word: no letter or digit right before or after
       it), ignoring case; spaces, ``_`` and ``-`` in a name match any run
       of those characters, and count as separators, not letters.
    2. If several classes are named, the one named **first** wins (models
       asked for a category put it first; later words are explanations).
    3. At the same position the **longest** name wins ("world news" over
       "world").
    4. No class named: ``None`` (the provider then uses ``default_label``,
       or a uniform row).

    Parameters
    ----------
    answer : str
        The model's reply.
    class_names : list of str
        One name per class, in column order.

    Returns
    -------
    int or None
        Position of the class in ``class_names``; None if the answer names none.

    Examples
    --------
    >>> parse_answer("Sports.", ["world", "sports"])
    1
    >>> parse_answer("business, not sports", ["sports", "business"])
    1
    >>> parse_answer("World news", ["world", "world news"])
    1
    >>> parse_answer("It is about sportsmanship", ["sports"]) is None
    True
    """
    found = _mentions(answer or "", _class_patterns(list(class_names)))
    return found[0][2] if found else None


def _norm_token(token: str) -> str:
    return re.sub(r"^[\W_]+|[\W_]+$", "", token).lower()


def _soft_row(lp: list, answer: str, start: int, index: int, norm_names: list[str]) -> np.ndarray | None:
    """Class probabilities from the token log-probabilities at the mention.

    The token where the winning class mention begins was chosen among
    alternatives; each alternative token that begins a class name (after
    stripping spaces and punctuation, ignoring case) gives its probability to
    that class (split evenly when it begins several names). The chosen
    token's probability goes to the parsed class. The masses are then
    normalised. Returns None when the tokens do not line up with the answer.
    """
    target = len(answer[:start].encode("utf-8"))
    if sum(int(t[2]) for t in lp) != len(answer.encode("utf-8")):
        # Some servers strip the reply's surrounding whitespace but not the tokens'.
        joined = "".join(t[0] for t in lp)
        if joined.strip() != answer.strip() or sum(int(t[2]) for t in lp) != len(joined.encode("utf-8")):
            return None

        def leading_bytes(text):
            return len(text[: len(text) - len(text.lstrip())].encode("utf-8"))

        target += leading_bytes(joined) - leading_bytes(answer)
    offset = 0
    for token, logprob, nbytes, alternatives in lp:
        if offset <= target < offset + nbytes:
            break
        offset += nbytes
    else:
        return None
    mass = np.zeros(len(norm_names))
    mass[index] += math.exp(logprob)
    for alt, alt_logprob in alternatives:
        if alt == token:
            continue
        key = _norm_token(alt)
        if not key:
            continue
        targets = [j for j, name in enumerate(norm_names) if name.startswith(key)]
        if targets:
            mass[targets] += math.exp(alt_logprob) / len(targets)
    total = mass.sum()
    if not np.isfinite(total) or total <= 0:
        return None
    return mass / total


# --------------------------------------------------------------------------- inputs
_EMBEDDINGS_HINT = (
    " If X holds embeddings or other features, label the raw texts instead: "
    "P = teacher.predict_proba(texts, classes), then fit(X, y, pseudo_labels=P). A table of values "
    "is read as a pandas DataFrame (see row_format)."
)


def _format_value(value: Any) -> str:
    try:
        import pandas as pd

        if pd.api.types.is_scalar(value) and pd.isna(value):
            return "NA"
    except ImportError:  # pragma: no cover - a DataFrame implies pandas
        pass
    return str(value)


def _serialise_rows(df: Any, row_format: Any) -> list[str]:
    """One text per DataFrame row: ``column: value`` lines, a format string, or a callable."""
    columns = [str(c) for c in df.columns]
    texts = []
    for values in df.itertuples(index=False, name=None):
        row = dict(zip(columns, values))
        if row_format is None:
            text = "\n".join(f"{c}: {_format_value(v)}" for c, v in row.items())
        elif callable(row_format):
            text = row_format(row)
            if not isinstance(text, str):
                raise TypeError(
                    f"row_format returned {type(text).__name__}, not a str; make the callable return "
                    f"the row's text."
                )
        else:
            try:
                text = row_format.format_map(row)
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(
                    f"row_format={row_format!r} cannot be filled from a row ({type(exc).__name__}: {exc}); "
                    f"its fields must be column names in braces, e.g. '{{{columns[0]}}}' (columns: "
                    f"{columns[:10]}), or pass a callable row -> str."
                ) from None
        texts.append(text)
    return texts


def _row_texts(X: Any, row_format: Any) -> list[str]:
    """The text of each row: texts as given, or DataFrame rows serialised."""
    is_frame = hasattr(X, "iloc") and getattr(X, "ndim", 1) == 2
    if is_frame and (row_format is not None or X.shape[1] != 1):
        X = _serialise_rows(X, row_format)
    elif row_format is not None:
        raise ValueError(
            f"row_format applies to the rows of a pandas DataFrame, but X is a {type(X).__name__}. Pass "
            f"a DataFrame, or leave row_format=None for texts."
        )
    return check_texts(X, owner="X", allow_empty=True, hint=_EMBEDDINGS_HINT)


# --------------------------------------------------------------------------- HTTP: deadline and size
class _TooLarge(Exception):
    """A response body exceeded its byte limit; it was not read further."""

    def __init__(self, nbytes: int, limit: int):
        super().__init__(f"response body over {limit} bytes ({nbytes} read)")
        self.nbytes, self.limit = nbytes, limit


def _httpx_module(openai):
    """The HTTP package the installed openai client is built on (httpx, or its successor)."""
    for cls in openai.DefaultHttpxClient.__mro__[1:]:
        root = cls.__module__.split(".")[0]
        if root != "openai":
            return importlib.import_module(root)
    raise ImportError("cannot tell which HTTP package the openai client uses")  # pragma: no cover


#: The deadline of the request this thread is sending or reading (sync clients read in the caller's thread).
_REQUEST = threading.local()
#: What a socket operation may still wait once the deadline has passed: it then times out at once.
_PAST_DEADLINE_S = 1e-3


def _clamp(timeout: float | None) -> float | None:
    """``timeout`` shortened to what is left of this thread's request deadline."""
    deadline = getattr(_REQUEST, "deadline", None)
    if deadline is None:
        return timeout
    left = max(deadline - time.monotonic(), _PAST_DEADLINE_S)
    return left if timeout is None else min(timeout, left)


def _deadline_backend(httpcore, inner):
    """A network backend whose every connect, read and write waits at most until the request's deadline.

    Per-read timeouts alone let a server that trickles its status line and
    headers (or body) one byte at a time hold a request for as long as it likes.
    """

    class Stream(httpcore.NetworkStream):
        def __init__(self, stream):
            self.stream = stream

        def read(self, max_bytes, timeout=None):
            return self.stream.read(max_bytes, timeout=_clamp(timeout))

        def write(self, buffer, timeout=None):
            self.stream.write(buffer, timeout=_clamp(timeout))

        def close(self):
            self.stream.close()

        def start_tls(self, ssl_context, server_hostname=None, timeout=None):
            return Stream(self.stream.start_tls(ssl_context, server_hostname, timeout=_clamp(timeout)))

        def get_extra_info(self, info):
            return self.stream.get_extra_info(info)

    class Backend(httpcore.NetworkBackend):
        def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
            return Stream(inner.connect_tcp(host, port, _clamp(timeout), local_address, socket_options))

        def connect_unix_socket(self, path, timeout=None, socket_options=None):
            return Stream(inner.connect_unix_socket(path, _clamp(timeout), socket_options))

        def sleep(self, seconds):
            inner.sleep(seconds)

    return Backend()


def _bounded_client(openai, *, timeout: float, max_bytes: int, connections: int, stop: threading.Event):
    """An HTTP client whose every request ends within ``timeout`` and reads at most ``max_bytes``.

    The client's own timeouts bound each read; here the whole request gets a
    deadline (every socket wait is cut to what is left of it, so neither slow
    headers nor a slow body outlast it), bodies beyond ``max_bytes`` are refused
    as they stream in (never held whole), and a stopping run ends its requests.
    """
    httpx = _httpx_module(openai)

    class Stream(httpx.SyncByteStream):
        def __init__(self, inner, request, deadline):
            self.inner, self.request, self.deadline = inner, request, deadline

        def __iter__(self):
            total = 0
            _REQUEST.deadline = self.deadline
            try:
                for chunk in self.inner:
                    total += len(chunk)
                    if total > max_bytes:
                        raise _TooLarge(total, max_bytes)
                    if stop.is_set():
                        raise httpx.ReadError("the run is stopping", request=self.request)
                    if time.monotonic() > self.deadline:
                        raise httpx.ReadTimeout(
                            f"no complete answer within {timeout} s", request=self.request
                        )
                    yield chunk
            finally:
                _REQUEST.deadline = None

        def close(self):
            self.inner.close()

    class Transport(httpx.BaseTransport):
        def __init__(self):
            limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
            self.inner = httpx.HTTPTransport(limits=limits)
            _bound_socket_waits(self.inner)

        def handle_request(self, request):
            deadline = time.monotonic() + timeout
            phases = dict(request.extensions.get("timeout") or {})
            for phase in ("connect", "read", "write", "pool"):
                phases[phase] = min(timeout, phases.get(phase) or timeout)
            request.extensions = {**request.extensions, "timeout": phases}
            _REQUEST.deadline = deadline
            try:
                response = self.inner.handle_request(request)
            finally:
                _REQUEST.deadline = None
            length = response.headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > max_bytes:
                response.close()
                raise _TooLarge(int(length), max_bytes)
            return httpx.Response(
                status_code=response.status_code,
                headers=response.headers,
                stream=Stream(response.stream, request, deadline),
                extensions=response.extensions,
            )

        def close(self):
            self.inner.close()

    return openai.DefaultHttpxClient(transport=Transport(), timeout=timeout)


def _bound_socket_waits(transport) -> None:
    """Put the deadline backend under ``transport``'s connection pool.

    httpx takes no network backend, so this sets the pool's (private) one; with
    an httpx whose pool looks different, requests keep per-read timeouts and a
    body deadline, and only slow headers go unbounded.
    """
    pool = getattr(transport, "_pool", None)
    inner = getattr(pool, "_network_backend", None)
    if inner is None:  # pragma: no cover - depends on the httpx version
        return
    httpcore = importlib.import_module(type(pool).__module__.split(".")[0])
    pool._network_backend = _deadline_backend(httpcore, inner)


# --------------------------------------------------------------------------- caches
class _MemoryStore:
    """Process-wide answer cache (shared by every LLMProvider with cache=None)."""

    def __init__(self):
        self._data: dict[str, dict] = {}
        self._lock = threading.Lock()

    def get_many(self, keys):
        with self._lock:
            return {k: self._data[k] for k in keys if k in self._data}

    def put(self, key, record):
        with self._lock:
            self._data[key] = record

    def clear(self):
        with self._lock:
            self._data.clear()

    def close(self):
        pass


_MEMORY_STORE = _MemoryStore()


class _SQLiteStore:
    """Answer cache in one SQLite file (WAL mode, one connection guarded by a lock).

    Every answer is its own committed transaction, so a crash loses nothing
    that was written. Records are JSON; nothing is pickled.
    """

    def __init__(self, path: str, shown: str):
        self.path = path
        self._lock = threading.Lock()
        try:
            conn = sqlite3.connect(path, timeout=60.0, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > _CACHE_FORMAT:
                conn.close()
                raise ValueError(
                    f"cache={shown!r} was written by a newer zeromatch_sk (format {version}); upgrade "
                    f"zeromatch_sk or use another cache file."
                )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS llm_answers "
                "(key TEXT PRIMARY KEY, record TEXT NOT NULL, created REAL NOT NULL)"
            )
            if version == 0:
                conn.execute(f"PRAGMA user_version={_CACHE_FORMAT}")
        except sqlite3.Error as exc:
            raise ValueError(
                f"cache={shown!r} cannot be used as an LLMProvider cache ({exc}). Point cache= at a new "
                f"file (it is created) or at a file an LLMProvider wrote."
            ) from None
        self._conn = conn

    def get_many(self, keys):
        keys = list(keys)
        out = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for key, record in self._conn.execute(
                    f"SELECT key, record FROM llm_answers WHERE key IN ({marks})", chunk
                ):
                    out[key] = json.loads(record)
        return out

    def put(self, key, record):
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO llm_answers (key, record, created) VALUES (?, ?, ?)",
                (key, text, time.time()),
            )

    def close(self):
        with self._lock:
            self._conn.close()


# --------------------------------------------------------------------------- one call's requests
class _Cancelled(Exception):
    """A worker stopped because the run is stopping."""


class _BudgetHit(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class _Failed(Exception):
    """A request failed for good; ``kind`` is 'retry' when the retries ran out."""

    def __init__(self, error, kind, attempts):
        super().__init__(kind)
        self.error, self.kind, self.attempts = error, kind, attempts


class _Malformed(ValueError):
    pass


class _Job:
    __slots__ = ("chars", "estimate", "key", "messages", "rows", "sent")

    def __init__(self, key, messages):
        self.key, self.messages, self.rows = key, messages, 0
        self.chars = sum(len(m["content"]) for m in messages)
        self.estimate = 0
        self.sent = False


def _error_kind(exc: BaseException, openai) -> str:
    """'retry', 'logprobs', 'quota' or 'fatal'."""
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return "retry"
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status == 429:
            return "quota" if getattr(exc, "code", None) == "insufficient_quota" else "retry"
        if status >= 500 or status in (408, 409):
            return "retry"
        if status in (400, 422) and "logprob" in str(exc).lower():
            return "logprobs"
        return "fatal"
    if isinstance(exc, (ValueError, openai.APIResponseValidationError)):  # malformed body
        return "retry"
    return "unexpected"


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        if headers.get("retry-after-ms") is not None:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


def _record_from_completion(completion, max_answer_chars: int) -> dict:
    choices = getattr(completion, "choices", None)
    if not choices:
        raise _Malformed("the response holds no choices")
    choice = choices[0]
    message = getattr(choice, "message", None)
    answer = getattr(message, "content", None)
    if answer is None:  # no content (e.g. a refusal): an answer that names no class
        answer = ""
    if not isinstance(answer, str):
        raise _Malformed(f"the reply's content is {type(answer).__name__} ({answer!r:.60}), not a string")
    lp = None
    content = getattr(getattr(choice, "logprobs", None), "content", None)
    cut = len(answer) if len(answer) > max_answer_chars else None
    if cut is not None:
        # The class named first is read from what is kept; the tokens no longer
        # line up with the answer, so the row is one-hot.
        answer, content = answer[:max_answer_chars], None
    if content and all(getattr(t, "logprob", None) is not None for t in content):
        lp = []
        for t in content:
            raw = getattr(t, "bytes", None)
            nbytes = len(raw) if raw is not None else len(t.token.encode("utf-8"))
            alternatives = [
                [a.token, a.logprob]
                for a in (getattr(t, "top_logprobs", None) or [])
                if a.logprob is not None and a.logprob >= _MIN_LOGPROB and a.token != t.token
            ]
            lp.append([t.token, t.logprob, nbytes, alternatives])
    usage = getattr(completion, "usage", None)
    record = {
        "answer": answer,
        "finish": getattr(choice, "finish_reason", None),
        "pt": int(getattr(usage, "prompt_tokens", 0) or 0),
        "ct": int(getattr(usage, "completion_tokens", 0) or 0),
        "lp": lp,
    }
    if cut is not None:
        record["cut"] = cut
    return record


class _Run:
    """Requests of one ``predict_proba`` call, shared by the worker threads."""

    def __init__(self, provider: LLMProvider, store, openai, ask_logprobs: bool, patterns: list):
        self.client, self.store, self.openai = None, store, openai
        self.patterns = patterns
        self.max_answer_chars = int(provider.max_answer_chars)
        self.model = provider.model
        self.temperature = float(provider.temperature)
        self.max_tokens = provider.max_tokens
        self.top_logprobs = int(provider.top_logprobs)
        self.logprobs_mode = provider.logprobs
        self.ask_logprobs = ask_logprobs
        self.max_retries = int(provider.max_retries)
        self.backoff_base = float(provider.backoff_base)
        self.backoff_max = float(provider.backoff_max)
        self.budget_requests = provider.budget_requests
        self.budget_tokens = provider.budget_tokens
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.rng = random.Random()
        self.requests = self.retries = self.answers = 0
        self.prompt_tokens = self.completion_tokens = 0
        self.unsent = 0  # submitted jobs whose first request is not yet counted
        self.reserved_tokens = 0
        self.tokens_per_char = 0.0  # largest prompt_tokens / chars seen

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def reserve(self, job: _Job) -> str | None:
        """Book a job's first request (and its estimated tokens), or name the budget it would break."""
        with self.lock:
            if self.budget_requests is not None and self.requests + self.unsent >= self.budget_requests:
                return "budget_requests"
            ratio = 1.25 * self.tokens_per_char if self.tokens_per_char else 0.5
            job.estimate = math.ceil(job.chars * ratio) + 8 * len(job.messages) + (self.max_tokens or 512)
            if (
                self.budget_tokens is not None
                and self.tokens + self.reserved_tokens + job.estimate > self.budget_tokens
            ):
                return "budget_tokens"
            self.unsent += 1
            self.reserved_tokens += job.estimate
        return None

    def release(self, job: _Job) -> None:
        with self.lock:
            self.reserved_tokens -= job.estimate
            if not job.sent:
                self.unsent -= 1

    def _request(self, messages, use_logprobs):
        kwargs = {"model": self.model, "messages": messages, "temperature": self.temperature}
        if self.max_tokens is not None:
            kwargs["max_tokens"] = int(self.max_tokens)
        if use_logprobs:
            kwargs["logprobs"] = True
            if self.top_logprobs:
                kwargs["top_logprobs"] = self.top_logprobs
        return self.client.chat.completions.create(**kwargs)

    def _delay(self, attempt: int, exc: BaseException) -> float:
        cap = min(self.backoff_max, self.backoff_base * 2**attempt)
        delay = cap / 2 + self.rng.uniform(0, cap / 2)  # "equal jitter"
        hint = _retry_after(exc)
        if hint is not None:
            delay = max(delay, hint)
        return min(delay, self.backoff_max)

    def _count_attempt(self, job: _Job, attempt: int) -> bool:
        """Book one HTTP request for ``job``; return whether to ask for log-probabilities."""
        if self.stop.is_set():
            raise _Cancelled()
        with self.lock:
            if not job.sent:
                job.sent = True
                self.unsent -= 1
            elif self.budget_requests is not None and self.requests + self.unsent >= self.budget_requests:
                raise _BudgetHit("budget_requests")
            self.requests += 1
            if attempt:
                self.retries += 1
            return self.ask_logprobs

    def _answer(self, job: _Job, use_logprobs: bool) -> dict:
        """One request's record, parsed before anything is cached: what cannot be parsed raises."""
        try:
            record = _record_from_completion(self._request(job.messages, use_logprobs), self.max_answer_chars)
            _mentions(record["answer"], self.patterns)
        except _TooLarge:
            raise
        except Exception as exc:
            too_large = _cause(exc, _TooLarge)
            if too_large is not None:
                raise too_large from None
            raise
        return record

    def fetch(self, job: _Job) -> dict:
        """Worker: ask for one text, retrying transient failures; store the parsed answer."""
        attempt = 0
        while True:
            use_logprobs = self._count_attempt(job, attempt)
            try:
                record = self._answer(job, use_logprobs)
            except _TooLarge as exc:  # refused, not retried: the same request would send the same
                return {"answer": "", "finish": None, "pt": 0, "ct": 0, "lp": None, "refused": exc.nbytes}
            except Exception as exc:  # classified below
                kind = _error_kind(exc, self.openai)
                if kind == "logprobs" and use_logprobs and self.logprobs_mode == "auto":
                    with self.lock:
                        self.ask_logprobs = False  # the endpoint refuses them: one-hot rows
                    continue
                if kind == "unexpected":
                    raise
                if kind != "retry" or attempt >= self.max_retries:
                    raise _Failed(exc, kind, attempt + 1) from None
                delay = self._delay(attempt, exc)
                attempt += 1
                if self.stop.wait(delay):
                    raise _Cancelled() from None
                continue
            self.store.put(job.key, record)
            with self.lock:
                self.answers += 1
                self.prompt_tokens += record["pt"]
                self.completion_tokens += record["ct"]
                if record["pt"] and job.chars:
                    self.tokens_per_char = max(self.tokens_per_char, record["pt"] / job.chars)
            return record


def _cause(exc: BaseException, kind: type) -> BaseException | None:
    """The first exception of type ``kind`` in ``exc``'s chain of causes."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, kind):
            return exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


class _Secret(str):
    """A key that does not show itself in reprs (tracebacks with locals, debuggers, logs)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


def _redact(text: str, secret: str | None) -> str:
    if secret and len(secret) >= 4 and secret != PLACEHOLDER_API_KEY:
        text = text.replace(secret, "***")
    return text


# --------------------------------------------------------------------------- the provider
class LLMProvider(BaseProvider):
    """Zero-shot teacher that asks an OpenAI-compatible chat endpoint to classify texts.

    One chat-completions request per distinct text; the answer becomes a
    pseudo-label. Works with the hosted APIs (OpenAI, and anything that
    mimics them) and local servers (vLLM, llama.cpp's server, Ollama, ...)
    through the ``openai`` client (``pip install "zeromatch-sk[llm]"``).

    Parameters
    ----------
    model : str, default="gpt-4o-mini"
        Model name as the endpoint knows it.
    base_url : str or None, default=None
        Endpoint root, e.g. ``"http://localhost:8000/v1"`` for vLLM or
        ``"http://localhost:11434/v1"`` for Ollama. ``None`` uses the
        ``OPENAI_BASE_URL`` environment variable, else OpenAI's API.
    api_key_env : str or None, default="OPENAI_API_KEY"
        Name of the environment variable holding the API key. The key is read
        at each ``predict_proba`` call and never stored: not in the
        estimator, its pickles, the cache, logs or error messages. If the
        variable is unset and ``base_url`` is given (local servers usually
        need no key), a placeholder key is sent; without ``base_url`` a
        missing key is an error. ``None`` never reads a key.
    prompt : str, default=DEFAULT_PROMPT
        User message. ``{labels}`` is replaced by the class names joined by
        ", " and ``{text}`` (required) by the row's text; other braces are
        left alone.
    class_names : list of str, dict or None, default=None
        Names used in the prompt and looked for in the answers; see
        :func:`~zeromatch_sk.providers.resolve_class_names`. ``None`` uses
        the classes themselves (which must be strings).
    system_prompt : str or None, default=None
        Optional system message (``{labels}`` is replaced there too).
    default_label : object or None, default=None
        Class given to answers that name no class. ``None`` abstains: such
        rows are uniform (``1 / n_classes`` everywhere), which carries no
        information to the student.
    logprobs : bool or "auto", default="auto"
        Ask for token log-probabilities and turn them into class
        probabilities (soft rows; see Notes). ``"auto"`` falls back to
        one-hot rows when the endpoint refuses the option; ``True`` makes
        that refusal an error; ``False`` never asks (one-hot rows).
    top_logprobs : int, default=20
        Alternatives per token requested with ``logprobs`` (OpenAI allows up
        to 20; lower it for servers with a smaller limit).
    temperature : float, default=0.0
        Sampling temperature; 0 makes answers (nearly) deterministic.
    max_tokens : int or None, default=16
        Longest answer in tokens; ``None`` does not send the field.
    max_concurrency : int, default=8
        Most requests in flight at once.
    max_retries : int, default=5
        Retries per text after rate limits (429), server errors (5xx, 408,
        409), timeouts, connection errors and malformed responses. Other
        errors (bad key, unknown model, ...) stop at once.
    timeout : float, default=30.0
        Deadline, in seconds, for each whole request (connecting, sending,
        waiting and reading the answer): a request not answered in full by
        then counts as failed (retried). Every socket wait is cut to what is
        left of the deadline, so a server that goes silent, or trickles its
        headers or its answer one byte at a time, is cut off at it.
    backoff_base, backoff_max : float, default=0.5, 20.0
        Retry ``r`` waits ``d / 2 + uniform(0, d / 2)`` seconds with
        ``d = min(backoff_max, backoff_base * 2**r)``, at least the
        server's ``Retry-After``, and at most ``backoff_max``.
    cache : str, path or None, default=None
        SQLite file holding every answer, keyed by endpoint, model, messages
        (prompt, class names, text) and sampling options; created if missing.
        Answers are written as they arrive, so a rerun after a crash, a
        Ctrl-C or an error asks only for what is missing, and every fit of a
        grid search reuses them. ``None`` uses an in-memory cache shared by
        all LLMProviders of this process (see :meth:`clear_memory_cache`).
    budget_requests : int or None, default=None
        Most HTTP requests (retries included) one ``predict_proba`` call may
        send. Cached answers are free. Reaching it raises
        :class:`BudgetExceededError` before the limit is exceeded; answers
        obtained so far stay cached.
    budget_tokens : int or None, default=None
        Most tokens (prompt + completion, as the endpoint reports them) one
        call may use. A request is sent only if its estimated cost (from the
        prompt length, calibrated on the answers so far, plus ``max_tokens``)
        fits in what is left.
    row_format : str, callable or None, default=None
        How a row of a pandas DataFrame ``X`` becomes the ``{text}`` of its
        prompt. ``None``: one ``column: value`` line per column (missing
        values as ``NA``); a DataFrame with a single column is read as that
        column's texts. A format string such as ``"{age}-year-old, {job}"``
        fills its ``{column}`` fields from the row; a callable ``f(row) ->
        str`` gets the row as a dict ``{column: value}``.
    max_prompt_chars : int or None, default=32000
        Longest prompt (all messages, in characters) sent. A row whose text
        would make it longer is cut to the characters that fit, with a
        warning naming how many rows were cut (``usage_["prompts_cut"]``).
        ``None`` sends every text whole.
    max_answer_chars : int, default=4096
        Longest answer kept. A longer answer is cut to this many characters
        before it is parsed and cached (the class it names first is read
        from what is kept; the row is one-hot), with a warning
        (``usage_["answers_cut"]``). A response body over ``512 *
        max_answer_chars`` bytes (at least 1 MiB; 2 MiB by default) is
        refused as it streams in, never held whole: its row names no class,
        is not cached (a rerun asks again) and is counted in
        ``usage_["answers_refused"]``, with a warning.
    verbose : int, default=1
        0 is silent; 1 shows a progress bar over rows and a usage summary.

    Attributes
    ----------
    usage_ : dict
        Usage of the last call: ``rows``, ``unique_texts``, ``cache_hits``
        (distinct texts answered from the cache), ``requests`` (HTTP requests
        sent, retries included), ``retries``, ``answers``, ``prompt_tokens``,
        ``completion_tokens``, ``total_tokens``, ``elapsed_s``,
        ``requests_per_s``, and what the size limits did: ``prompts_cut``
        (rows), ``answers_cut`` and ``answers_refused`` (rows). Set even
        when the call fails.
    answers_ : ndarray of shape (n_samples,), dtype=object
        The raw answer for each row of the last call.
    n_unparseable_ : int
        Rows whose answer named no class.
    n_abstained_ : int
        Rows given a uniform row because their answer named no class and
        ``default_label`` is None.
    n_multiple_ : int
        Rows whose answer named several classes (the first one named wins).

    See Also
    --------
    parse_answer : how an answer becomes a class.

    Notes
    -----
    **Soft labels.** With log-probabilities, the row is read at the token
    where the winning class mention begins: every alternative token there
    that begins a class name (ignoring case, spaces and punctuation) gives
    its probability to that class, the chosen token's probability goes to
    the parsed class, and the masses are normalised. Answers the tokens do
    not line up with, or without log-probabilities, give one-hot rows.

    **Interruptions.** On Ctrl-C or a final failure no new request is sent
    and the call returns at once; requests in flight end within ``timeout``
    seconds in the background (a reply still arriving stops at its next
    bytes), and answers that complete are cached.

    **Parsing before caching.** An answer is parsed before it is written to
    the cache; a reply whose content is not a string (a number, a list) is
    a malformed response: retried, then an error, and never cached. A
    missing content (``null``, e.g. a refusal) is an answer that names no
    class.

    **Cache keys** include the messages but not ``default_label`` or the
    parsing rule, so those can change without asking again. With
    ``logprobs="auto"`` on an endpoint that refuses log-probabilities,
    one-hot answers are cached under the same key as soft ones would be.

    Examples
    --------
    >>> from zeromatch_sk.providers import LLMProvider
    >>> from zeromatch_sk.testing import FakeLLMServer
    >>> texts = ["A late goal won the cup.", "Stocks fell sharply.", "A goal at last!"]
    >>> with FakeLLMServer({"goal": "sports", "Stocks": "Business."}) as server:
    ...     teacher = LLMProvider(model="any", base_url=server.base_url, verbose=0)
    ...     P = teacher.predict_proba(texts, ["business", "sports"])
    >>> P
    array([[0., 1.],
           [1., 0.],
           [0., 1.]])
    >>> teacher.usage_["requests"], teacher.n_unparseable_
    (3, 0)

    Against a real endpoint (the key is read from ``OPENAI_API_KEY``):

    >>> teacher = LLMProvider(model="gpt-4o-mini", cache="labels.sqlite")  # doctest: +SKIP
    >>> P = teacher.predict_proba(texts, ["business", "sports"])  # doctest: +SKIP
    """

    _transient_attributes = ("_cache_store",)

    _parameter_constraints: ClassVar[dict] = {
        "model": [str],
        "base_url": [str, None],
        "api_key_env": [str, None],
        "prompt": [str],
        "class_names": ["array-like", Mapping, None],
        "system_prompt": [str, None],
        "default_label": "no_validation",
        "logprobs": ["boolean", StrOptions({"auto"})],
        "top_logprobs": [Interval(Integral, 0, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="left")],
        "max_tokens": [Interval(Integral, 1, None, closed="left"), None],
        "max_concurrency": [Interval(Integral, 1, None, closed="left")],
        "max_retries": [Interval(Integral, 0, None, closed="left")],
        "timeout": [Interval(Real, 0, None, closed="neither")],
        "backoff_base": [Interval(Real, 0, None, closed="left")],
        "backoff_max": [Interval(Real, 0, None, closed="left")],
        "cache": [str, os.PathLike, None],
        "budget_requests": [Interval(Integral, 0, None, closed="left"), None],
        "budget_tokens": [Interval(Integral, 0, None, closed="left"), None],
        "row_format": [str, callable, None],
        "max_prompt_chars": [Interval(Integral, 1, None, closed="left"), None],
        "max_answer_chars": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        model="gpt-4o-mini",
        *,
        base_url=None,
        api_key_env="OPENAI_API_KEY",
        prompt=DEFAULT_PROMPT,
        class_names=None,
        system_prompt=None,
        default_label=None,
        logprobs="auto",
        top_logprobs=20,
        temperature=0.0,
        max_tokens=16,
        max_concurrency=8,
        max_retries=5,
        timeout=30.0,
        backoff_base=0.5,
        backoff_max=20.0,
        cache=None,
        budget_requests=None,
        budget_tokens=None,
        row_format=None,
        max_prompt_chars=32_000,
        max_answer_chars=4_096,
        verbose=1,
    ):
        self.model = model
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.prompt = prompt
        self.class_names = class_names
        self.system_prompt = system_prompt
        self.default_label = default_label
        self.logprobs = logprobs
        self.top_logprobs = top_logprobs
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.cache = cache
        self.budget_requests = budget_requests
        self.budget_tokens = budget_tokens
        self.row_format = row_format
        self.max_prompt_chars = max_prompt_chars
        self.max_answer_chars = max_answer_chars
        self.verbose = verbose

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def clear_memory_cache() -> None:
        """Forget the answers held by the process-wide in-memory cache (``cache=None``)."""
        _MEMORY_STORE.clear()

    def close(self) -> None:
        """Close the SQLite cache connection (reopened on the next call)."""
        store = self.__dict__.pop("_cache_store", None)
        if store is not None:
            store.close()

    def _check_params(self) -> None:
        self._validate_params()
        if "{text}" not in self.prompt:
            raise ValueError(
                "prompt has no {text} placeholder, so every request would be the same. Put {text} "
                "where the row's text goes (and {labels} where the class names go)."
            )
        if not self.model.strip():
            raise ValueError(
                "model is empty; pass the model name the endpoint serves, e.g. model='gpt-4o-mini'."
            )
        if self.base_url is not None and not re.match(r"https?://", self.base_url):
            raise ValueError(
                f"base_url={self.base_url!r} is not an http(s) URL; pass e.g. 'http://localhost:8000/v1'."
            )

    def _endpoint(self) -> str:
        url = self.base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        return str(url).rstrip("/")

    def _api_key(self) -> tuple[str, bool]:
        """The key from the environment (read now), and whether it is the placeholder."""
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if key:
            return _Secret(key), False
        if self.base_url is not None or self.api_key_env is None:
            return PLACEHOLDER_API_KEY, True
        raise ValueError(
            f"LLMProvider needs an API key for {self._endpoint()}, but the environment variable "
            f"{self.api_key_env} is not set. Set it (export {self.api_key_env}=...), or name another "
            f"variable with api_key_env=; local servers that need no key are reached with base_url=..."
        )

    def _store(self):
        if self.cache is None:
            return _MEMORY_STORE
        path = os.path.abspath(os.path.expanduser(os.fspath(self.cache)))
        store = self.__dict__.get("_cache_store")
        if store is not None and store.path == path:
            return store
        if store is not None:
            store.close()
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            raise ValueError(
                f"The folder of cache={self.cache!r} ({parent}) does not exist; create it or pick "
                f"another path."
            )
        self._cache_store = _SQLiteStore(path, shown=os.fspath(self.cache))
        return self._cache_store

    def _where(self) -> str:
        if self.cache is None:
            return (
                "this process's in-memory cache (pass cache='labels.sqlite' to keep answers across processes)"
            )
        return f"the cache {os.fspath(self.cache)!r}"

    def _messages(self, text: str, labels: str) -> list[dict]:
        messages = []
        if self.system_prompt:
            messages.append({"role": "system", "content": self.system_prompt.replace("{labels}", labels)})
        # {labels} first, so a text that happens to contain "{labels}" is left as it is.
        content = self.prompt.replace("{labels}", labels).replace("{text}", text)
        messages.append({"role": "user", "content": content})
        return messages

    def _text_room(self, labels: str) -> int | None:
        """Most characters of a row's text that keep the prompt within ``max_prompt_chars``."""
        if self.max_prompt_chars is None:
            return None
        overhead = sum(len(m["content"]) for m in self._messages("", labels))
        room = (int(self.max_prompt_chars) - overhead) // self.prompt.count("{text}")
        if room < 1:
            raise ValueError(
                f"max_prompt_chars={self.max_prompt_chars} leaves no room for the row's text: the prompt "
                f"and system_prompt with the class names filled in take {overhead} characters. Raise "
                f"max_prompt_chars (or pass None), or shorten prompt / system_prompt."
            )
        return room

    def _key(self, endpoint: str, messages: list[dict], ask_logprobs: bool) -> str:
        payload = {
            "format": _CACHE_FORMAT,
            "endpoint": endpoint,
            "model": self.model,
            "messages": messages,
            "temperature": float(self.temperature),
            "max_tokens": self.max_tokens,
            "logprobs": ask_logprobs,
            "top_logprobs": int(self.top_logprobs) if ask_logprobs else None,
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def _default_index(self, classes: np.ndarray) -> int | None:
        if self.default_label is None:
            return None
        matches = [i for i, c in enumerate(classes.tolist()) if c == self.default_label]
        if not matches:
            raise ValueError(
                f"default_label={self.default_label!r} is not one of the classes {classes.tolist()!r}; "
                f"pass one of them, or None to give unparseable answers a uniform row (abstain)."
            )
        return matches[0]

    # ------------------------------------------------------------------ API
    def predict_proba(self, X, classes):
        """Ask the endpoint to classify each text; return pseudo-label probabilities.

        Parameters
        ----------
        X : sequence of str of shape (n_samples,), or pandas DataFrame
            Texts: a list, a 1-D array, a pandas Series, or a 2-D array /
            DataFrame with a single text column. A DataFrame with several
            columns (or any DataFrame when ``row_format`` is given) is a
            table: each row becomes a text through ``row_format``.
        classes : array-like of shape (n_classes,)
            The classes, in column order.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            One probability row per text: soft when log-probabilities were
            available, one-hot otherwise, ``default_label`` or uniform for
            answers that name no class.

        Raises
        ------
        LLMProviderError
            A request failed after its retries, or the endpoint refused the
            requests (bad key, unknown model, ...). Answers obtained so far
            are cached; calling again resumes.
        BudgetExceededError
            ``budget_requests`` or ``budget_tokens`` would be exceeded.
        """
        self._check_params()
        texts = _row_texts(X, self.row_format)
        classes = np.asarray(classes)
        names = resolve_class_names(classes, self.class_names, owner="LLMProvider")
        patterns = _class_patterns(names)
        default_index = self._default_index(classes)
        endpoint = self._endpoint()
        ask_logprobs = self.logprobs is True or self.logprobs == "auto"
        jobs, row_keys, n_cut = self._jobs(texts, ", ".join(names), endpoint, ask_logprobs)

        store = self._store()
        records = store.get_many(jobs)
        missing = [job for key, job in jobs.items() if key not in records]
        self.usage_ = usage = {
            "rows": len(texts),
            "unique_texts": len(jobs),
            "cache_hits": len(records),
            "requests": 0,
            "retries": 0,
            "answers": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "total_tokens": 0,
            "elapsed_s": 0.0,
            "requests_per_s": 0.0,
            "prompts_cut": n_cut,
            "answers_cut": 0,
            "answers_refused": 0,
        }
        if missing:
            self._ask(missing, records, row_keys, store, endpoint, ask_logprobs, usage, patterns)

        P, answers, counts = self._rows(row_keys, records, patterns, names, default_index)
        usage.update(answers_cut=counts["cut"], answers_refused=counts["refused"])
        self.answers_ = answers
        self.n_unparseable_ = counts["unparseable"]
        self.n_abstained_ = counts["abstained"]
        self.n_multiple_ = counts["multiple"]
        self._report(usage, counts)
        return P

    def _jobs(self, texts, labels, endpoint, ask_logprobs):
        """One job per distinct prompt, the key of each row, and how many rows were cut to fit."""
        room = self._text_room(labels)
        jobs: dict[str, _Job] = {}
        row_keys = []
        n_cut = 0
        for text in texts:
            if room is not None and len(text) > room:
                text, n_cut = text[:room], n_cut + 1
            messages = self._messages(text, labels)
            key = self._key(endpoint, messages, ask_logprobs)
            job = jobs.get(key)
            if job is None:
                job = jobs[key] = _Job(key, messages)
            job.rows += 1
            row_keys.append(key)
        if n_cut:
            warnings.warn(
                f"LLMProvider: {n_cut} of {len(texts)} rows had texts too long for "
                f"max_prompt_chars={self.max_prompt_chars}; each was cut to its first {room} characters "
                f"before it was sent. Raise max_prompt_chars (or pass None) to send them whole, if the "
                f"model's context allows it.",
                UserWarning,
                stacklevel=3,
            )
        return jobs, row_keys, n_cut

    # ------------------------------------------------------------------ requests
    def _client(self, openai, endpoint, api_key, stop):
        max_bytes = max(_MIN_BODY_BYTES, _BODY_BYTES_PER_CHAR * int(self.max_answer_chars))
        http_client = _bounded_client(
            openai,
            timeout=float(self.timeout),
            max_bytes=max_bytes,
            connections=int(self.max_concurrency),
            stop=stop,
        )
        return openai.OpenAI(
            api_key=api_key,
            base_url=endpoint,
            timeout=float(self.timeout),
            max_retries=0,
            http_client=http_client,
        )

    def _ask(self, missing, records, row_keys, store, endpoint, ask_logprobs, usage, patterns) -> None:
        try:
            import openai
        except ImportError as exc:
            raise ImportError(
                "LLMProvider needs the openai package to talk to chat-completions endpoints: "
                'pip install "zeromatch-sk[llm]" (or pip install openai).'
            ) from exc
        api_key, placeholder = self._api_key()
        run = _Run(self, store, openai, ask_logprobs, patterns)
        run.client = client = self._client(openai, endpoint, api_key, run.stop)
        n = len(row_keys)
        from tqdm.auto import tqdm

        pbar = tqdm(
            total=n,
            initial=n - sum(job.rows for job in missing),
            disable=not self.verbose,
            desc=f"LLMProvider({self.model})",
            unit="row",
            file=sys.stderr,
        )
        executor = ThreadPoolExecutor(
            max_workers=min(int(self.max_concurrency), len(missing)), thread_name_prefix="LLMProvider"
        )
        start = time.perf_counter()
        interrupted = True
        try:
            failure, budget = self._drive(run, executor, missing, records, pbar)
            interrupted = False
        except BaseException:  # KeyboardInterrupt, SystemExit: stop, keep what is cached
            run.stop.set()
            raise
        finally:
            # After an interruption the requests in flight end on their own
            # (within timeout); the caller does not wait for them.
            executor.shutdown(wait=not interrupted, cancel_futures=True)
            pbar.close()
            if not interrupted:
                client.close()
            self._record_usage(usage, run, time.perf_counter() - start)
            if interrupted and self.verbose:
                self._say_interrupted(store, row_keys, usage)
        if failure is not None:
            if not isinstance(failure, _Failed):
                raise failure
            raise self._failure_error(failure, records, row_keys, endpoint, api_key, placeholder) from None
        if budget is not None:
            raise self._budget_error(budget, run, records, row_keys)

    def _drive(self, run, executor, missing, records, pbar):
        """Keep up to ``max_concurrency`` requests in flight; return (failure, budget hit)."""
        window = int(self.max_concurrency)
        pending: dict = {}
        queue = iter(missing)
        job = next(queue, None)
        failure: BaseException | None = None
        budget = None
        while True:
            while job is not None and failure is None and budget is None and len(pending) < window:
                budget = run.reserve(job)
                if budget is not None:
                    break
                pending[executor.submit(run.fetch, job)] = job
                job = next(queue, None)
            if not pending:
                return failure, budget
            done, _ = wait(list(pending), timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in done:
                finished = pending.pop(future)
                run.release(finished)
                exc = future.exception()
                if exc is None:
                    records[finished.key] = future.result()
                    pbar.update(finished.rows)
                elif isinstance(exc, _BudgetHit):
                    budget = budget or exc.reason
                elif not isinstance(exc, _Cancelled) and failure is None:
                    failure = exc
                    run.stop.set()
            if done and self.verbose:
                pbar.set_postfix(requests=run.requests, tokens=run.tokens, refresh=False)

    @staticmethod
    def _record_usage(usage, run, elapsed) -> None:
        usage.update(
            requests=run.requests,
            retries=run.retries,
            answers=run.answers,
            prompt_tokens=run.prompt_tokens,
            completion_tokens=run.completion_tokens,
            total_tokens=run.tokens,
            elapsed_s=elapsed,
            requests_per_s=run.requests / elapsed if elapsed > 0 else 0.0,
        )

    def _say_interrupted(self, store, row_keys, usage) -> None:
        done_rows = len(store.get_many(set(row_keys)))
        print(
            f"LLMProvider interrupted: {done_rows} of {usage['unique_texts']} distinct texts are "
            f"answered and saved in {self._where()}; call predict_proba again to resume.",
            file=sys.stderr,
        )

    def _budget_error(self, budget, run, records, row_keys) -> BudgetExceededError:
        n = len(row_keys)
        done_rows = sum(1 for key in row_keys if key in records)
        limit = self.budget_requests if budget == "budget_requests" else self.budget_tokens
        return BudgetExceededError(
            f"LLMProvider stopped before exceeding {budget}={limit}: this call sent {run.requests} "
            f"requests and used {run.tokens} tokens. {done_rows} of {n} rows are labelled and saved "
            f"in {self._where()}; {n - done_rows} rows still need an answer. Raise {budget} (or set "
            f"it to None) and call predict_proba again: answered rows are not asked again."
        )

    def _failure_error(self, failure, records, row_keys, endpoint, api_key, placeholder) -> LLMProviderError:
        import openai

        exc, kind = failure.error, failure.kind
        n = len(row_keys)
        done_rows = sum(1 for key in row_keys if key in records)
        resume = (
            f"{done_rows} of {n} rows are labelled and saved in {self._where()}; calling predict_proba "
            f"again resumes and asks only for the {n - done_rows} missing rows."
        )
        where = f"{endpoint} (model {self.model!r})"
        status = getattr(exc, "status_code", None)
        if isinstance(exc, openai.APITimeoutError):
            what = f"no answer within timeout={self.timeout} s"
        elif isinstance(exc, openai.APIConnectionError):
            what = f"could not connect ({exc})"
        elif status is not None:
            what = f"HTTP {status}: {str(exc)[:300]}"
        else:
            what = f"malformed response ({str(exc)[:200]})"
        what = _redact(what, api_key)

        if kind == "retry":
            if status == 429:
                fix = (
                    "The endpoint is rate-limiting: lower max_concurrency or raise max_retries / backoff_max."
                )
            elif isinstance(exc, openai.APITimeoutError):
                fix = "Raise timeout if the model is slow, or lower max_concurrency."
            elif isinstance(exc, openai.APIConnectionError):
                fix = "Check that the server is running and that base_url is right."
            else:
                fix = "The server is failing; try again later or raise max_retries."
            head = f"LLMProvider gave up on a request to {where} after {failure.attempts} attempts: {what}."
        elif status == 401:
            head = f"{where} rejected the API key ({what})."
            fix = (
                f"The environment variable {self.api_key_env} is not set, so no key was sent; set it."
                if placeholder
                else f"Check the key in the environment variable {self.api_key_env}."
            )
        elif status == 403:
            head = f"{where} refused the request ({what})."
            fix = f"The key in {self.api_key_env} may lack access to model {self.model!r}."
        elif status == 404:
            head = f"{where} answered 404 ({what})."
            fix = (
                f"Check model={self.model!r} (the server lists its models at {endpoint}/models) and "
                f"base_url (it usually ends in /v1)."
            )
        elif kind == "quota":
            head = f"{where} reports an exhausted quota ({what})."
            fix = "Add credit or raise the quota of the account, then rerun."
        elif kind == "logprobs":
            head = f"{where} does not accept the logprobs option ({what})."
            fix = "Pass logprobs='auto' (one-hot rows when refused), logprobs=False, or a lower top_logprobs."
        else:
            head = f"{where} rejected the request ({what})."
            fix = "Check model, max_tokens and temperature for this endpoint."
        return LLMProviderError(f"{head} {fix} {resume}")

    # ------------------------------------------------------------------ answers -> rows
    def _rows(self, row_keys, records, patterns, names, default_index):
        k = len(names)
        norm_names = [_normalize_name(name) for name in names]
        P = np.empty((len(row_keys), k))
        answers = np.empty(len(row_keys), dtype=object)
        parsed: dict[str, tuple] = {}
        n_unparseable = n_abstained = n_multiple = no_logprobs = truncated = cut = refused = 0
        example = None
        for i, key in enumerate(row_keys):
            if key not in parsed:
                record = records[key]
                answer = record["answer"]
                found = _mentions(answer, patterns)
                distinct = len({j for _, _, j in found})
                if not found:
                    row = np.full(k, 1.0 / k) if default_index is None else np.eye(k)[default_index]
                else:
                    start, _, index = found[0]
                    row = None
                    if record.get("lp"):
                        row = _soft_row(record["lp"], answer, start, index, norm_names)
                    if row is None:
                        row = np.eye(k)[index]
                parsed[key] = (row, answer, bool(found), distinct > 1, record.get("lp") is None, record)
            row, answer, ok, multiple, lacks_logprobs, record = parsed[key]
            P[i] = row
            answers[i] = answer
            if not ok:
                n_unparseable += 1
                n_abstained += default_index is None
                truncated += record.get("finish") == "length"
                if example is None:
                    example = answer
            n_multiple += multiple
            no_logprobs += lacks_logprobs and "refused" not in record
            cut += "cut" in record
            refused += "refused" in record
        counts = {
            "unparseable": n_unparseable,
            "abstained": n_abstained,
            "multiple": n_multiple,
            "no_logprobs": no_logprobs,
            "truncated": truncated,
            "example": example,
            "cut": cut,
            "refused": refused,
        }
        return P, answers, counts

    def _report(self, usage, counts) -> None:
        n = usage["rows"]
        no_logprobs, truncated = counts["no_logprobs"], counts["truncated"]
        if n and self.n_unparseable_ > n / 2:
            cut = (
                f" {truncated} of them stopped at max_tokens={self.max_tokens}; raise max_tokens."
                if truncated
                else ""
            )
            warnings.warn(
                f"LLMProvider: {self.n_unparseable_} of {n} answers named no class (e.g. "
                f"{counts['example'][:80]!r}); they got "
                f"{'uniform rows' if self.default_label is None else repr(self.default_label)}. Check "
                f"that prompt asks for one of the class names and that class_names match.{cut}",
                UserWarning,
                stacklevel=3,
            )
        self._report_limits(n, counts)
        if self.logprobs is True and no_logprobs:
            warnings.warn(
                f"LLMProvider: {no_logprobs} of {n} answers came without token log-probabilities, so "
                f"their rows are one-hot. The endpoint may ignore the logprobs option; pass "
                f"logprobs='auto' or False to silence this warning.",
                UserWarning,
                stacklevel=3,
            )
        if self.verbose:
            rate = f", {usage['requests_per_s']:.1f} requests/s" if usage["requests"] else ""
            print(
                f"LLMProvider({self.model}): {n} rows, {usage['unique_texts']} distinct texts, "
                f"{usage['cache_hits']} from cache, {usage['requests']} requests "
                f"({usage['retries']} retries), {usage['prompt_tokens']} prompt + "
                f"{usage['completion_tokens']} completion tokens{rate}; "
                f"{self.n_unparseable_} answers named no class, {self.n_multiple_} named several.",
                file=sys.stderr,
            )

    def _report_limits(self, n, counts) -> None:
        if counts["cut"]:
            warnings.warn(
                f"LLMProvider: {counts['cut']} of {n} answers were longer than "
                f"max_answer_chars={self.max_answer_chars} and were cut to that many characters before "
                f"parsing and caching (the class named first is read from what is kept). Lower max_tokens "
                f"so the model answers briefly, or raise max_answer_chars.",
                UserWarning,
                stacklevel=4,
            )
        if counts["refused"]:
            limit = max(_MIN_BODY_BYTES, _BODY_BYTES_PER_CHAR * int(self.max_answer_chars))
            warnings.warn(
                f"LLMProvider: {counts['refused']} of {n} responses were larger than {limit} bytes (the "
                f"limit that max_answer_chars={self.max_answer_chars} sets) and were refused without "
                f"being read whole; those rows name no class and are not cached, so a rerun asks again. "
                f"Lower max_tokens so the server sends short answers, or raise max_answer_chars.",
                UserWarning,
                stacklevel=4,
            )
