"""Test doubles: a small OpenAI-compatible chat-completions server on the loopback interface.

Use it to test code that drives :class:`~zeromatch_sk.providers.LLMProvider`
(or any ``openai`` client) without a network, a key or a bill; the package's
own tests, doctests and gallery use it.

:class:`FakeLLMServer` speaks just enough of the ``POST /v1/chat/completions``
protocol for :class:`~zeromatch_sk.providers.LLMProvider` (or the ``openai``
client) to talk to it: answers come from a fixed table, token
log-probabilities are returned on request, and faults (HTTP 429 with
``Retry-After``, 5xx, slow or trickled answers, malformed bodies, a reply
whose content is not a string) can be injected. It counts what it received:
requests in flight at most (``max_in_flight``) and requests per prompt
(``prompt_counts``). It
binds to ``127.0.0.1`` on an ephemeral port, uses only the standard library
(:mod:`http.server` and :mod:`threading`) and never touches the network beyond
the loopback interface.

It is a test double, not a model: the reply for a request is looked up by
substring in the last user message.

Run ``python -m zeromatch_sk.testing`` to start one by hand
(it prints its ``base_url`` and echoes a tiny answer table until Ctrl-C).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["NO_CONTENT", "FakeLLMServer", "Fault", "tokenize"]


class _NoContent:
    def __repr__(self) -> str:
        return "NO_CONTENT"


#: ``Fault.content`` when the fault leaves the reply's content alone.
NO_CONTENT = _NoContent()

# A word piece (with its leading whitespace), one punctuation character (with
# its leading whitespace), or trailing whitespace. Concatenating the pieces
# gives back the text exactly.
_PIECE_RE = re.compile(r"\s*(?:\w+|[^\w\s])|\s+")


def tokenize(text: str, max_chars: int = 5) -> list[str]:
    """Split ``text`` into subword-like tokens, as the fake server does.

    Words keep their leading whitespace and are cut into pieces of at most
    ``max_chars`` word characters, so ``"technology"`` becomes two tokens,
    as with a real subword tokenizer. ``"".join(tokenize(text)) == text``.

    Parameters
    ----------
    text : str
    max_chars : int, default=5
        Longest run of word characters in one token.

    Returns
    -------
    list of str
        The tokens.

    Examples
    --------
    >>> tokenize("The topic is technology.")
    ['The', ' topic', ' is', ' techn', 'ology', '.']
    """
    tokens: list[str] = []
    for piece in _PIECE_RE.findall(text):
        core = piece.lstrip()
        lead = piece[: len(piece) - len(core)]
        if len(core) <= max_chars:
            tokens.append(piece)
            continue
        chunks = [core[i : i + max_chars] for i in range(0, len(core), max_chars)]
        tokens.append(lead + chunks[0])
        tokens.extend(chunks[1:])
    return tokens


@dataclass
class Fault:
    """One injected fault; see :meth:`FakeLLMServer.add_fault`.

    Parameters
    ----------
    status : int or None
        HTTP status to answer with; None only delays the answer.
    delay : float
        Seconds to wait before answering.
    retry_after : float or None
        ``Retry-After`` header value, in seconds.
    times : int or None
        Requests left to hit; None hits all of them.
    match : str or None
        Only requests whose last user message contains this substring.
    malformed : bool
        Answer HTTP 200 with a body that is not JSON.
    message : str or None
        Error message in the JSON error body.
    trickle : float
        Answer normally, but send the body one byte every ``trickle`` seconds.
    content : object
        Answer HTTP 200 with this JSON value as the message content (e.g.
        ``5``, ``None`` or a list, to test clients against a broken server);
        ``NO_CONTENT`` (the default) leaves the content alone.
    trickle_headers : bool
        With ``trickle``, send the status line and headers one byte at a time
        as well (a client that waits for the headers never gets a response).
    """

    status: int | None = None
    delay: float = 0.0
    retry_after: float | None = None
    times: int | None = 1
    match: str | None = None
    malformed: bool = False
    message: str | None = None
    trickle: float = 0.0
    content: Any = NO_CONTENT
    trickle_headers: bool = False

    def applies_to(self, user_text: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        return self.match is None or self.match in user_text


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are written separately; without this, Nagle's algorithm
    # and delayed ACKs add ~40 ms to every answer.
    disable_nagle_algorithm = True
    # Idle keep-alive connections are dropped after this many seconds.
    timeout = 60
    server: _HTTPServer

    def log_message(self, format, *args):
        pass  # no per-request line on stderr

    def _send_json(
        self,
        status: int,
        payload: Any,
        headers: Mapping[str, str] | None = None,
        trickle: float = 0.0,
        trickle_headers: bool = False,
    ) -> None:
        body = json.dumps(payload).encode("utf-8")
        self._send_raw(status, body, "application/json", headers, trickle, trickle_headers)

    def _send_raw(
        self,
        status: int,
        body: bytes,
        ctype: str,
        headers: Mapping[str, str] | None = None,
        trickle: float = 0.0,
        trickle_headers: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if trickle and trickle_headers:
            # Take the head from http.server's buffer instead of flushing it whole.
            self._headers_buffer.append(b"\r\n")
            body = b"".join(self._headers_buffer) + body
            self._headers_buffer = []
        else:
            self.end_headers()
        if not trickle:
            self.wfile.write(body)
            return
        self.wfile.flush()
        for i in range(len(body)):  # one byte at a time: each read returns, the answer never ends
            if self.server.fake._closing.wait(trickle):
                return
            self.wfile.write(body[i : i + 1])
            self.wfile.flush()

    def _error(self, status: int, message: str, type_: str, code: str | None = None, headers=None) -> None:
        self._send_json(
            status, {"error": {"message": message, "type": type_, "param": None, "code": code}}, headers
        )

    def do_GET(self):
        fake = self.server.fake
        if self.path.rstrip("/").endswith("/models"):
            names = sorted(fake.models) if fake.models is not None else ["fake-llm"]
            data = [{"id": n, "object": "model", "created": 0, "owned_by": "fake"} for n in names]
            self._send_json(200, {"object": "list", "data": data})
        else:
            self._error(404, f"Unknown path {self.path}", "invalid_request_error")

    def do_POST(self):
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._error(404, f"Unknown path {self.path}; use /v1/chat/completions", "invalid_request_error")
            return
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            self._error(400, "The request body is not valid JSON.", "invalid_request_error")
            return
        fake._handle(self, body)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeLLMServer

    def handle_error(self, request, client_address):
        # A client that timed out closes its socket while the handler sleeps;
        # writing the late answer then fails. That is expected, not an error.
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)  # pragma: no cover - a real bug in the handler


def _user_text(messages: Any) -> str:
    """Text of the last user message (string content or text parts)."""
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _count_words(messages: Any) -> int:
    total = 0
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        total += 3 + len(tokenize(content or ""))
    return total


class FakeLLMServer:
    """An OpenAI-compatible chat-completions server on ``127.0.0.1`` for tests.

    The reply to a request is looked up in ``answers`` by substring: the
    longest key that occurs in the last user message wins, and requests that
    match no key get ``default_answer``. A table value is either the reply
    text or a dict ``{reply: probability}``: the most probable reply is
    returned, and where the candidate replies diverge the token
    log-probabilities (``logprobs``/``top_logprobs``) carry their
    probabilities, as a real model's would.

    Parameters
    ----------
    answers : dict or callable, default=None
        ``{substring: reply}``, ``{substring: {reply: probability}}``, or a
        callable ``f(user_message) -> reply`` (or ``-> {reply: probability}``).
    default_answer : str, default="I cannot tell."
        Reply when no key of ``answers`` occurs in the message.
    logprobs : bool or "reject", default=True
        ``True`` honours ``logprobs``/``top_logprobs`` requests; ``False``
        ignores them (like endpoints that silently drop the field); ``"reject"``
        answers such requests with HTTP 400, as some servers do.
    latency : float, default=0.0
        Seconds every answer waits before it is sent.
    api_key : str or None, default=None
        If set, requests without ``Authorization: Bearer <api_key>`` get 401.
    models : iterable of str or None, default=None
        Model names served; other names get 404. ``None`` accepts any name.
    token_chars : int, default=5
        Longest word piece of the fake tokenizer (see :func:`tokenize`).

    Attributes
    ----------
    base_url : str
        ``http://127.0.0.1:<port>/v1``, to pass as ``base_url``.
    n_requests : int
        Chat-completion requests received (faults included).
    n_answered : int
        Requests answered with HTTP 200 and a completion.
    max_in_flight : int
        Most requests handled at the same time.
    requests : list of dict
        The JSON body of every request, in arrival order.
    prompt_counts : collections.Counter
        Requests received per last user message (a value above 1 means that
        prompt was asked more than once).

    Examples
    --------
    >>> import json, urllib.request
    >>> with FakeLLMServer({"goal": "sports"}) as server:
    ...     body = {"model": "m", "messages": [{"role": "user", "content": "A late goal."}]}
    ...     req = urllib.request.Request(server.base_url + "/chat/completions",
    ...                                  data=json.dumps(body).encode(),
    ...                                  headers={"Content-Type": "application/json"})
    ...     reply = json.load(urllib.request.urlopen(req))
    >>> reply["choices"][0]["message"]["content"], server.n_requests
    ('sports', 1)
    """

    def __init__(
        self,
        answers: Mapping[str, Any] | Callable[[str], Any] | None = None,
        *,
        default_answer: str = "I cannot tell.",
        logprobs: bool | str = True,
        latency: float = 0.0,
        api_key: str | None = None,
        models=None,
        token_chars: int = 5,
    ):
        if logprobs not in (True, False, "reject"):
            raise ValueError(f"logprobs must be True, False or 'reject'; got {logprobs!r}.")
        self.answers = answers if answers is not None else {}
        self.default_answer = default_answer
        self.logprobs = logprobs
        self.latency = float(latency)
        self.api_key = api_key
        self.models = None if models is None else set(models)
        self.token_chars = int(token_chars)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._faults: list[Fault] = []
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ids = 0
        self.reset()

    # ------------------------------------------------------------------ life cycle
    def start(self) -> FakeLLMServer:
        """Bind to ``127.0.0.1`` on a free port and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        self._closing.clear()
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeLLMServer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; sleeping handlers wake up."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._closing.set()
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._httpd is not None else "stopped"
        return f"FakeLLMServer({where}, n_requests={self.n_requests})"

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeLLMServer is not running; use it as a context manager or call start().")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # ------------------------------------------------------------------ control
    def reset(self) -> None:
        """Forget counters, recorded requests and pending faults."""
        with self._lock:
            self.n_requests = 0
            self.n_answered = 0
            self.n_in_flight = 0
            self.max_in_flight = 0
            self.requests: list[dict] = []
            self.prompt_counts: Counter[str] = Counter()
            self._faults.clear()

    def add_fault(
        self,
        status: int | None = None,
        *,
        times: int | None = 1,
        retry_after: float | None = None,
        delay: float = 0.0,
        match: str | None = None,
        malformed: bool = False,
        message: str | None = None,
        trickle: float = 0.0,
        content: Any = NO_CONTENT,
        trickle_headers: bool = False,
    ) -> Fault:
        """Make the next ``times`` matching requests fail.

        Faults are tried in the order they were added; the first that applies
        to a request is used up by it.

        Parameters
        ----------
        status : int or None
            HTTP status to answer with (429, 500, 503, 400, ...). ``None`` with
            ``delay`` only slows the answer down (to trigger client timeouts).
        times : int or None, default=1
            How many requests the fault hits; ``None`` hits all of them.
        retry_after : float or None
            Seconds sent in a ``Retry-After`` header (with ``status``).
        delay : float, default=0.0
            Seconds to wait before answering.
        match : str or None
            Only requests whose last user message contains this substring.
        malformed : bool, default=False
            Answer HTTP 200 with a body that is not JSON.
        message : str or None
            Error message in the JSON error body.
        trickle : float, default=0.0
            Seconds between the bytes of the (otherwise normal) answer's body:
            a server that keeps a connection alive without ever finishing.
        content : object, default=NO_CONTENT
            JSON value sent as the message content instead of the reply text
            (an int, None, a list, ...).
        trickle_headers : bool, default=False
            With ``trickle``, send the status line and headers one byte at a
            time too: a client then waits for a response that never starts.

        Returns
        -------
        Fault
            The fault; its ``times`` counts down as requests use it.
        """
        fault = Fault(
            status, delay, retry_after, times, match, malformed, message, trickle, content, trickle_headers
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    # ------------------------------------------------------------------ answers
    def _lookup(self, user_text: str) -> Any:
        if callable(self.answers):
            return self.answers(user_text)
        best = None
        for key in self.answers:
            if key in user_text and (best is None or len(key) > len(best)):
                best = key
        return self.default_answer if best is None else self.answers[best]

    def _logprob_content(self, spec: dict[str, float], best: str, n_top: int) -> list[dict]:
        toks = {reply: tokenize(reply, self.token_chars) for reply in spec}
        best_toks = toks[best]
        content = []
        for i, tok in enumerate(best_toks):
            # Probability of each next token among the replies that agree
            # with the chosen one so far: the conditional distribution.
            nxt: dict[str, float] = {}
            for reply, p in spec.items():
                if toks[reply][:i] == best_toks[:i] and i < len(toks[reply]):
                    nxt[toks[reply][i]] = nxt.get(toks[reply][i], 0.0) + p
            total = sum(nxt.values())
            top = sorted(nxt.items(), key=lambda kv: -kv[1])[:n_top]
            content.append(
                {
                    "token": tok,
                    "logprob": math.log(nxt[tok] / total),
                    "bytes": list(tok.encode("utf-8")),
                    "top_logprobs": [
                        {"token": t, "logprob": math.log(p / total), "bytes": list(t.encode("utf-8"))}
                        for t, p in top
                    ],
                }
            )
        return content

    def _completion(self, body: dict, user_text: str) -> dict:
        spec = self._lookup(user_text)
        if isinstance(spec, Mapping):
            spec = {str(k): float(v) for k, v in spec.items() if float(v) > 0}
            if not spec:
                raise ValueError("an answer distribution needs at least one positive probability")
        else:
            spec = {str(spec): 1.0}
        best = max(spec, key=spec.get)
        tokens = tokenize(best, self.token_chars)
        content = None
        if body.get("logprobs") and self.logprobs is True:
            n_top = int(body.get("top_logprobs") or 0)
            content = self._logprob_content(spec, best, n_top)
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        finish = "stop"
        if limit is not None and len(tokens) > int(limit):
            tokens = tokens[: int(limit)]
            content = content[: int(limit)] if content is not None else None
            finish = "length"
        with self._lock:
            self._ids += 1
            ident = self._ids
        prompt_tokens = _count_words(body.get("messages"))
        return {
            "id": f"chatcmpl-fake-{ident}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model")),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(tokens), "refusal": None},
                    "logprobs": None if content is None else {"content": content, "refusal": None},
                    "finish_reason": finish,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": len(tokens),
                "total_tokens": prompt_tokens + len(tokens),
            },
        }

    def _take_fault(self, user_text: str) -> Fault | None:
        for fault in self._faults:
            if fault.applies_to(user_text):
                if fault.times is not None:
                    fault.times -= 1
                return fault
        return None

    def _handle(self, handler: _Handler, body: Any) -> None:
        user_text = _user_text(body.get("messages")) if isinstance(body, dict) else ""
        with self._lock:
            self.n_requests += 1
            self.n_in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.n_in_flight)
            self.requests.append(body)
            self.prompt_counts[user_text] += 1
            fault = self._take_fault(user_text)
        try:
            self._respond(handler, body, user_text, fault)
        finally:
            with self._lock:
                self.n_in_flight -= 1

    def _respond(self, handler: _Handler, body: Any, user_text: str, fault: Fault | None) -> None:
        if fault is not None:
            if fault.delay and self._closing.wait(fault.delay):
                return
            if fault.malformed:
                handler._send_raw(200, b"<html>upstream proxy error</html> {not json", "application/json")
                return
            if fault.status is not None:
                headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
                kind = "rate_limit_exceeded" if fault.status == 429 else "server_error"
                handler._error(
                    fault.status, fault.message or f"Injected fault {fault.status}.", kind, kind, headers
                )
                return
        if self.api_key is not None and handler.headers.get("Authorization") != f"Bearer {self.api_key}":
            handler._error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
            return
        if not isinstance(body, dict) or not body.get("model") or not isinstance(body.get("messages"), list):
            handler._error(400, "'model' and 'messages' are required.", "invalid_request_error")
            return
        if self.models is not None and body["model"] not in self.models:
            handler._error(
                404,
                f"The model `{body['model']}` does not exist.",
                "invalid_request_error",
                "model_not_found",
            )
            return
        if body.get("logprobs") and self.logprobs == "reject":
            handler._error(400, "logprobs is not supported by this model.", "invalid_request_error")
            return
        if self.latency and self._closing.wait(self.latency):
            return
        completion = self._completion(body, user_text)
        if fault is not None and fault.content is not NO_CONTENT:
            completion["choices"][0]["message"]["content"] = fault.content
            completion["choices"][0]["logprobs"] = None
        with self._lock:
            self.n_answered += 1
        handler._send_json(
            200,
            completion,
            trickle=0.0 if fault is None else fault.trickle,
            trickle_headers=fault is not None and fault.trickle_headers,
        )


def main() -> None:  # pragma: no cover - manual use
    """Serve a tiny answer table until Ctrl-C (``python -m ...``)."""
    answers = {"goal": "sports", "stock": "business", "election": "world", "software": "technology"}
    with FakeLLMServer(answers) as server:
        print(f"FakeLLMServer listening: base_url={server.base_url}  (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":  # pragma: no cover
    main()
