"""The one client path to every engine: `openai.AsyncOpenAI` against a `base_url`.

Retries are the SDK's own (exponential backoff with jitter, `Retry-After` honoured, on 408,
409, 429, 5xx, dropped connections and timeouts). Each attempt is bounded as a whole
(headers and body within `request_timeout`, so a server that trickles a byte a second times
out), and a 200 whose body is cut short or is not a chat completion is turned into a
transport error inside the HTTP client, so that the same retry loop covers both; there is no
second loop. Every attempt is counted (retries, 429s) for the job's log. What still fails is
reported as :class:`RequestFailed`, transient or permanent, naming the model and its URL,
with any secret (or part of one) removed from the message.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cuf_tui.config import ModelEntry
from cuf_tui.errors import CufError

if TYPE_CHECKING:
    import httpx2
    from openai import AsyncOpenAI

TRANSIENT_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))
PLACEHOLDER_KEY = "not-needed"  # local servers ignore the key; the SDK insists on one
DEFAULT_BASE_URL = "https://api.openai.com/v1"  # the SDK's, when an entry has no base_url
PROBE_TIMEOUT_S = 10.0
MAX_BELIEVABLE_TOKENS = 10_000_000  # per request; usage above this is a server's bug


class EngineError(CufError):
    """An endpoint cannot be used as configured."""


class RequestFailed(Exception):
    """A request that did not give a completion, after the retries it was allowed."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    finish_reason: str | None  # 'length': cut off at max_tokens
    replaced_chars: int = 0  # invalid code points replaced by U+FFFD
    usage_ignored: str | None = None  # why the server's token counts were not believed


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_invalid_code_points(text: str) -> tuple[str, int]:
    """``text`` with every lone surrogate (what a server sends when it cuts an emoji in half
    at max_tokens; it cannot be stored or encoded) replaced by U+FFFD, and how many."""
    return _LONE_SURROGATE.subn("\ufffd", text)


def believable_usage(
    usage: Any, messages: Sequence[dict[str, str]], max_tokens: int
) -> tuple[int, int, str | None]:
    """(prompt tokens, completion tokens, why they were not believed) from a reply's usage.
    Counts that are not whole numbers, negative, or beyond what the request could have used
    (more prompt tokens than 4 per byte of the messages, more completion tokens than twice
    max_tokens) are a server's bug: they are left out of totals, not added to a bill."""
    if usage is None:
        return 0, 0, None
    prompt = getattr(usage, "prompt_tokens", 0)
    completion = getattr(usage, "completion_tokens", 0)
    prompt_bytes = sum(len(str(m.get("content", "")).encode("utf-8", "replace")) for m in messages)
    limits = (
        ("prompt_tokens", prompt, 4 * prompt_bytes + 4096),
        ("completion_tokens", completion, 2 * max_tokens + 64),
    )
    for name, value, ceiling in limits:
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or value < 0
            or value > min(ceiling, MAX_BELIEVABLE_TOKENS)
        ):
            return 0, 0, f"the server reported {name} = {value!r}"
    return prompt, completion, None


class Secrets:
    """Values that must never reach the store, a log or a message, nor any part of them a
    server may echo: keys come back masked but for their first characters and their tail
    (`sk-test-****6e7f`, "the key ending in WXYZ")."""

    SHARED_RUN = 8  # characters in a row shared with a secret that make a word a piece of it
    TAIL = 4  # a word that ends as a secret ends, over this many characters, is its tail

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._runs: set[str] = set()

    def add(self, value: str) -> None:
        if len(value) >= self.TAIL:
            self._values.add(value)
            run = min(self.SHARED_RUN, len(value))
            self._runs |= {value[i : i + run] for i in range(len(value) - run + 1)}

    def remove(self, text: str) -> str:
        """``text`` (an answer) without any whole secret in it."""
        for value in self._values:
            if value in text:
                text = text.replace(value, "[redacted]")
        return text

    def redact(self, text: str) -> str:
        """``text`` (an error message) without any secret or any piece of one."""
        text = self.remove(text)
        if not self._values:
            return text
        return _WORD.sub(self._redact_word, text)

    def _redact_word(self, match: re.Match[str]) -> str:
        word = match.group(0)
        bare = word.rstrip(".,;:!?")
        run = self.SHARED_RUN
        piece = any(word[i : i + run] in self._runs for i in range(len(word) - run + 1))
        if piece or any(_shared_tail(bare, value) >= self.TAIL for value in self._values):
            return "[redacted]" + word[len(bare) :]  # the sentence keeps its full stop
        return word


def _shared_tail(word: str, value: str) -> int:
    """How many characters ``word`` and ``value`` have in common at their ends."""
    shared = 0
    for a, b in zip(reversed(word), reversed(value), strict=False):
        if a != b:
            break
        shared += 1
    return shared


_WORD = re.compile(r"[^\s\"'`,;:()\[\]{}<>]+")


def api_key_for(entry: ModelEntry, secrets: Secrets) -> str:
    if entry.api_key_env is None:
        return PLACEHOLDER_KEY
    key = os.environ.get(entry.api_key_env)
    if not key:
        raise EngineError(
            f"{entry.name}: the environment variable {entry.api_key_env} is not set "
            f"(cuf.toml says the key for this endpoint is there)"
        )
    secrets.add(key)
    return key


def check_endpoint(entry: ModelEntry) -> None:
    """Raise EngineError when ``entry`` cannot be reached as configured; requests nothing."""
    if entry.managed:
        from cuf_tui.engines.managed import check_server_command

        check_server_command(entry)  # the workbench starts this server for the batch
        return
    api_key_for(entry, Secrets())


def response_format(entry: ModelEntry, schema: dict[str, Any]) -> dict[str, Any] | None:
    """The `response_format` that constrains a judge's answer on ``entry``'s engine, or None
    for free text. vLLM and OpenAI take a named JSON schema; llama-cpp-python's server takes
    JSON mode with a schema attached."""
    wanted = entry.answer_format
    if wanted == "text":
        return None
    if entry.engine == "llamacpp":
        return {"type": "json_object", "schema": schema}
    if wanted == "json":
        return {"type": "json_object"}
    return {"type": "json_schema", "json_schema": {"name": "judgment", "schema": schema}}


def check_reachable(entries: Sequence[ModelEntry]) -> None:
    """One cheap request (`GET /models`) to every server of every entry that someone else
    runs, side by side; raise EngineError naming the model and the URL when one cannot be
    reached or refuses the key, so an unreachable server is one clear error before a batch
    rather than a failed unit per request. Servers the workbench starts are not asked."""
    probed = [entry for entry in entries if not entry.managed]
    if not probed:
        return

    async def probe_all() -> list[str | None]:
        import httpx2

        # Certificates are loaded only when a server is reached over TLS (it costs a little).
        tls = any(url is None or url.startswith("https") for e in probed for url in e.base_urls)
        async with httpx2.AsyncClient(timeout=PROBE_TIMEOUT_S, verify=tls) as http:
            return await asyncio.gather(
                *(_probe(http, entry, url) for entry in probed for url in entry.base_urls)
            )

    try:
        asyncio.get_running_loop()
    except RuntimeError:  # the usual case: no event loop in this thread
        answers = asyncio.run(probe_all())
    else:  # called from inside an event loop: probe from a thread of its own
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as thread:
            answers = thread.submit(lambda: asyncio.run(probe_all())).result()
    problems = [problem for problem in answers if problem]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise EngineError(problems[0] + more)


async def _probe(http: Any, entry: ModelEntry, url: str | None) -> str | None:
    """What is wrong with one server of ``entry``, in one line; None when it answers."""
    import httpx2

    secrets = Secrets()
    base = (url or DEFAULT_BASE_URL).rstrip("/")
    try:
        key = api_key_for(entry, secrets)
    except EngineError as err:
        return str(err)
    try:
        reply = await http.get(f"{base}/models", headers={"Authorization": f"Bearer {key}"})
    except httpx2.TimeoutException:
        return f"{entry.name}: {base} did not answer within {PROBE_TIMEOUT_S:g} s (GET /models)"
    except httpx2.HTTPError as err:
        cause = err.__cause__ or err
        return secrets.redact(
            f"{entry.name}: cannot reach {base} ({type(cause).__name__}: {cause or err}); "
            "is the server running, and is base_url right?"
        )
    if reply.status_code in (401, 403):
        return (
            f"{entry.name}: {base} refused the API key in {entry.api_key_env or '(none)'} "
            f"(HTTP {reply.status_code} to GET /models)"
        )
    if reply.status_code == 404:
        return (
            f"{entry.name}: {base} answered 404 to GET /models, so it is not an OpenAI-"
            "compatible API there; is base_url right? (it usually ends in /v1)"
        )
    return None  # someone is there and speaks the API (a 5xx now may pass by the batch)


class AttemptCounts:
    """Attempts of one batch's requests beyond the first (the SDK's retries), and how many
    attempts were answered 429; ``note`` hears about each, for the job's log."""

    def __init__(self) -> None:
        self.retries = 0
        self.rate_limited = 0
        self.note: Callable[[str], None] = lambda _: None


class ChatEndpoint:
    """One model behind one OpenAI-compatible server, with its own concurrency limit."""

    def __init__(
        self, entry: ModelEntry, secrets: Secrets, attempts: AttemptCounts | None = None
    ) -> None:
        check_endpoint(entry)
        self.entry = entry
        self.secrets = secrets
        self.attempts = attempts or AttemptCounts()
        self._api_key = api_key_for(entry, secrets)
        self._servers = [_Server(url, entry.max_concurrency) for url in entry.base_urls]
        self._turn = 0

    @property
    def capacity(self) -> int:
        """Requests this model can have in flight: max_concurrency on each of its servers."""
        return self.entry.max_concurrency * len(self._servers)

    def _client_for(self, server: _Server) -> AsyncOpenAI:
        if server.client is None:
            import httpx2
            from openai import AsyncOpenAI, DefaultAsyncHttpxClient

            connections = self.entry.max_concurrency
            limits = httpx2.Limits(
                max_connections=connections, max_keepalive_connections=connections
            )
            from cuf_tui.engines.attempts import WholeAttempts

            http = DefaultAsyncHttpxClient(
                transport=WholeAttempts(
                    httpx2.AsyncHTTPTransport(limits=limits),
                    self.entry.request_timeout,
                    self.attempts,
                    f"{self.entry.name} at {server.url or DEFAULT_BASE_URL}",
                    self.secrets,
                ),
                event_hooks={"response": [_require_a_whole_completion]},
            )
            server.client = AsyncOpenAI(
                base_url=server.url,
                api_key=self._api_key,
                max_retries=self.entry.max_retries,
                timeout=self.entry.request_timeout,
                http_client=http,
            )
        return server.client

    def _pick(self) -> _Server:
        """The least busy server; equals take turns."""
        self._turn = (self._turn + 1) % len(self._servers)
        order = self._servers[self._turn :] + self._servers[: self._turn]
        return min(order, key=lambda server: server.in_flight)

    async def chat(self, messages: Sequence[dict[str, str]], **overrides: Any) -> Completion:
        """One chat completion with the entry's sampling settings (``overrides`` win), on the
        least busy of the model's servers."""
        settings: dict[str, Any] = {
            "temperature": self.entry.temperature,
            "top_p": self.entry.top_p,
            "max_tokens": self.entry.max_tokens,
        } | overrides
        server = self._pick()
        server.in_flight += 1
        try:
            return await self._chat_on(server, messages, settings)
        finally:
            server.in_flight -= 1

    async def _chat_on(
        self, server: _Server, messages: Sequence[dict[str, str]], settings: dict[str, Any]
    ) -> Completion:
        import openai
        from openai.types.chat import ChatCompletion

        where = f"{self.entry.name} at {server.url or DEFAULT_BASE_URL}"
        async with server.limit:
            started = time.perf_counter()
            try:
                # The chat completions endpoint through the client's own request path (same
                # retries and errors as `chat.completions.create`), without re-walking the
                # message dicts against the SDK's parameter types on every call: at hundreds
                # of requests a second that walk is most of the client's CPU time.
                reply = await self._client_for(server).post(
                    "/chat/completions",
                    cast_to=ChatCompletion,
                    body={"model": self.entry.model, "messages": list(messages), **settings},
                )
            except openai.APIStatusError as err:
                raise RequestFailed(
                    self._clean(f"{where}: HTTP {err.status_code}: {_status_message(err)}"),
                    transient=err.status_code in TRANSIENT_STATUS,
                ) from None
            except openai.APITimeoutError:
                raise RequestFailed(
                    f"{where}: no whole reply within {self.entry.request_timeout:g} s "
                    f"({self.entry.max_retries} retries)",
                    transient=True,
                ) from None
            except openai.APIConnectionError as err:
                cause = err.__cause__ or err
                retries = f"({self.entry.max_retries} retries)"
                if type(cause).__name__ == "DecodingError":  # a 200 that was no completion
                    message = f"{where}: {cause} {retries}"
                else:
                    message = (
                        f"{where}: connection failed {retries}: {type(cause).__name__}: {cause}"
                    )
                raise RequestFailed(self._clean(message), transient=True) from None
            latency_ms = (time.perf_counter() - started) * 1000
        # _require_a_whole_completion made sure choices[0] holds a message.
        choice = reply.choices[0]
        raw_text = choice.message.content
        if raw_text is None:
            raise RequestFailed(f"{where}: the completion holds no text", transient=False)
        text, replaced = replace_invalid_code_points(self.secrets.remove(raw_text))
        prompt_tokens, completion_tokens, ignored = believable_usage(
            reply.usage, messages, int(settings.get("max_tokens") or self.entry.max_tokens)
        )
        return Completion(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_ms=latency_ms,
            finish_reason=choice.finish_reason,
            replaced_chars=replaced,
            usage_ignored=f"{where}: {ignored}; not counted" if ignored else None,
        )

    def _clean(self, message: str) -> str:
        """A message fit for the store and the log: no secret, nothing unencodable."""
        return replace_invalid_code_points(self.secrets.redact(message))[0]

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        prices = self.entry.price_per_million_tokens
        return (prompt_tokens * prices.input + completion_tokens * prices.output) / 1e6

    async def close(self) -> None:
        for server in self._servers:
            if server.client is not None:
                await server.client.close()


class _Server:
    """One server of a model: its client (made on first use), its limit, its load."""

    def __init__(self, url: str | None, max_concurrency: int) -> None:
        self.url = url
        self.client: AsyncOpenAI | None = None
        self.limit = asyncio.Semaphore(max_concurrency)
        self.in_flight = 0


async def _require_a_whole_completion(response: httpx2.Response) -> None:
    """Make a truncated or malformed 200 a transport error, which the SDK retries."""
    import httpx2

    if response.status_code != 200 or not response.request.url.path.endswith("/chat/completions"):
        return
    await response.aread()  # a body cut short raises a transport error here
    try:
        body = json.loads(response.content)
    except ValueError:
        raise httpx2.DecodingError(
            "the server's reply is not valid JSON", request=response.request
        ) from None
    problem = _not_a_completion(body)
    if problem:
        raise httpx2.DecodingError(
            f"the server's reply is not a chat completion ({problem})", request=response.request
        )


def _not_a_completion(body: Any) -> str | None:
    """What makes a decoded reply unusable as a chat completion, or None."""
    if isinstance(body, dict) and body.get("error") and "choices" not in body:
        error = body["error"]
        said = error.get("message") if isinstance(error, dict) else error
        return f"an error: {str(said)[:300]}"  # some servers answer 200 with an error body
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
        return "no choices"
    if not body["choices"] or not isinstance(body["choices"][0], dict):
        return "no first choice"
    message = body["choices"][0].get("message")
    if not isinstance(message, dict):
        return "choices[0] has no message"
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        return "the message content is not text"
    return None


def _status_message(err: Any) -> str:
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        message = body.get("message") or (body.get("error") or {}).get("message")
        if message:
            return str(message)
    return str(getattr(err, "message", "") or err)
