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

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cuf_tui.config import ModelEntry
from cuf_tui.engines.replies import Secrets, believable_usage, replace_invalid_code_points
from cuf_tui.errors import CufError

if TYPE_CHECKING:
    from openai import AsyncOpenAI

TRANSIENT_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))
PLACEHOLDER_KEY = "not-needed"  # local servers ignore the key; the SDK insists on one
DEFAULT_BASE_URL = "https://api.openai.com/v1"  # the SDK's, when an entry has no base_url


class EngineError(CufError):
    """An endpoint cannot be used as configured."""


class RequestFailed(Exception):
    """A request that did not give a completion, after the retries it was allowed."""

    def __init__(self, message: str, *, transient: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.status = status  # the HTTP status the server answered, when it answered one


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    finish_reason: str | None  # 'length': cut off at max_tokens
    replaced_chars: int = 0  # invalid code points replaced by U+FFFD
    usage_ignored: str | None = None  # why the server's token counts were not believed
    batched: bool = False  # answered through the Batch API (at its price)


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


def load_client() -> None:
    """Import the client library now (a second or so), so that a batch does not pay for it
    while its clock runs."""
    import openai  # noqa: F401

    import cuf_tui.engines.attempts  # noqa: F401


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


def request_settings(entry: ModelEntry, overrides: dict[str, Any]) -> dict[str, Any]:
    """The sampling settings a request carries: the entry's, ``overrides`` winning. A setting
    that is None is left out: the server's default applies, and endpoints that refuse a
    parameter (or a pair of them) are never sent it."""
    chosen: dict[str, Any] = {
        "temperature": entry.temperature,
        "top_p": entry.top_p,
        "max_tokens": entry.max_tokens,
    } | overrides
    return {name: value for name, value in chosen.items() if value is not None}


def completion_from_body(
    body: dict[str, Any],
    messages: Sequence[dict[str, str]],
    settings: dict[str, Any],
    entry: ModelEntry,
    secrets: Secrets,
    where: str,
    latency_ms: float,
) -> Completion:
    """A chat completion's JSON (checked: choices[0] holds a message) as the batch keeps it:
    its text without secrets or broken code points, and token counts that are believable."""
    choice = body["choices"][0]
    raw_text = choice["message"].get("content")
    if raw_text is None:
        raise RequestFailed(f"{where}: the completion holds no text", transient=False)
    text, replaced = replace_invalid_code_points(secrets.remove(raw_text))
    prompt_tokens, completion_tokens, ignored = believable_usage(
        body.get("usage"), messages, int(settings.get("max_tokens") or entry.max_tokens)
    )
    finish_reason = choice.get("finish_reason")
    return Completion(
        text=text,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        latency_ms=latency_ms,
        finish_reason=finish_reason if isinstance(finish_reason, str) else None,
        replaced_chars=replaced,
        usage_ignored=f"{where}: {ignored}; not counted" if ignored else None,
    )


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
        self._servers = [_Server(url) for url in entry.base_urls]
        self._turn = 0

    @property
    def capacity(self) -> int:
        """Requests this model can have in flight: max_concurrency on each of its servers."""
        return self.entry.max_concurrency * len(self._servers)

    def _client_for(self, server: _Server) -> AsyncOpenAI:
        if server.client is None:
            import httpx2
            from openai import AsyncOpenAI, DefaultAsyncHttpxClient

            from cuf_tui.engines.attempts import WholeAttempts

            # No cap on connections here: the batch's scheduler never has more than
            # max_concurrency requests on a server (the one place that limit is kept).
            limits = httpx2.Limits(
                max_connections=None, max_keepalive_connections=self.entry.max_concurrency
            )
            http = DefaultAsyncHttpxClient(
                transport=WholeAttempts(
                    httpx2.AsyncHTTPTransport(limits=limits),
                    self.entry.request_timeout,
                    self.attempts,
                    f"{self.entry.name} at {server.url or DEFAULT_BASE_URL}",
                    self.secrets,
                )
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
        """One chat completion with the entry's sampling settings (``overrides`` win; None
        leaves a setting out), on the least busy of the model's servers."""
        settings = request_settings(self.entry, overrides)
        server = self._pick()
        server.in_flight += 1
        try:
            return await self._chat_on(server, messages, settings)
        finally:
            server.in_flight -= 1

    async def _chat_on(
        self, server: _Server, messages: Sequence[dict[str, str]], settings: dict[str, Any]
    ) -> Completion:
        import httpx2
        import openai

        from cuf_tui.engines.attempts import COMPLETION

        where = f"{self.entry.name} at {server.url or DEFAULT_BASE_URL}"
        started = time.perf_counter()
        try:
            # The chat completions endpoint through the client's own request path (same
            # retries and errors as `chat.completions.create`), returning the HTTP reply as
            # it is: the transport has already read and checked its JSON, which is read once
            # (the SDK would walk the messages against its parameter types, and build a
            # ChatCompletion from the reply again, costing most of the client's CPU).
            reply = await self._client_for(server).post(
                "/chat/completions",
                cast_to=httpx2.Response,
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
                failure = f"{type(cause).__name__}: {cause}"
                message = f"{where}: connection failed {retries}: {failure}"
            raise RequestFailed(self._clean(message), transient=True) from None
        latency_ms = (time.perf_counter() - started) * 1000
        body = reply.extensions[COMPLETION]  # checked: choices[0] holds a message
        return completion_from_body(
            body, messages, settings, self.entry, self.secrets, where, latency_ms
        )

    def _clean(self, message: str) -> str:
        """A message fit for the store and the log: no secret, nothing unencodable."""
        return replace_invalid_code_points(self.secrets.redact(message))[0]

    def cost(self, prompt_tokens: int, completion_tokens: int, *, batched: bool = False) -> float:
        """What tokens cost: online, or through the Batch API (``batched``)."""
        entry = self.entry
        prices = entry.batch_prices if batched else entry.price_per_million_tokens
        return (prompt_tokens * prices.input + completion_tokens * prices.output) / 1e6

    async def close(self) -> None:
        for server in self._servers:
            if server.client is not None:
                await server.client.close()


class _Server:
    """One server of a model: its client (made on first use) and its load."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.client: AsyncOpenAI | None = None
        self.in_flight = 0


def _status_message(err: Any) -> str:
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        message = body.get("message") or (body.get("error") or {}).get("message")
        if message:
            return str(message)
    return str(getattr(err, "message", "") or err)
