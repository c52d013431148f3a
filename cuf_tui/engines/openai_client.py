"""The one client path to every engine: `openai.AsyncOpenAI` against a `base_url`.

Retries are the SDK's own (exponential backoff with jitter, `Retry-After` honoured, on 408,
409, 429, 5xx, dropped connections and timeouts). A 200 whose body is cut short or is not a
chat completion is turned into a transport error inside the HTTP client, so that the same
retry loop covers it; there is no second loop. What still fails is reported as
:class:`RequestFailed`, transient or permanent, with any secret removed from the message.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cuf_tui.config import ModelEntry
from cuf_tui.errors import CufError

if TYPE_CHECKING:
    import httpx2
    from openai import AsyncOpenAI

TRANSIENT_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))
PLACEHOLDER_KEY = "not-needed"  # local servers ignore the key; the SDK insists on one


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
    finish_reason: str | None


class Secrets:
    """Values that must never reach the store, a log or a message."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def add(self, value: str) -> None:
        if len(value) >= 4:
            self._values.add(value)

    def redact(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, "[redacted]")
        return text


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


class ChatEndpoint:
    """One model behind one OpenAI-compatible server, with its own concurrency limit."""

    def __init__(self, entry: ModelEntry, secrets: Secrets) -> None:
        check_endpoint(entry)
        self.entry = entry
        self.secrets = secrets
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
            http = DefaultAsyncHttpxClient(
                limits=httpx2.Limits(
                    max_connections=connections, max_keepalive_connections=connections
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
                    self.secrets.redact(f"HTTP {err.status_code}: {_status_message(err)}"),
                    transient=err.status_code in TRANSIENT_STATUS,
                ) from None
            except openai.APITimeoutError:
                raise RequestFailed(
                    f"timed out after {self.entry.request_timeout:g} s "
                    f"({self.entry.max_retries} retries)",
                    transient=True,
                ) from None
            except openai.APIConnectionError as err:
                cause = err.__cause__ or err
                raise RequestFailed(
                    self.secrets.redact(
                        f"connection failed ({self.entry.max_retries} retries): "
                        f"{type(cause).__name__}: {cause}"
                    ),
                    transient=True,
                ) from None
            latency_ms = (time.perf_counter() - started) * 1000
        choice = reply.choices[0]
        text = choice.message.content
        if text is None:
            raise RequestFailed("the completion holds no text", transient=False)
        usage = reply.usage
        return Completion(
            text=text,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            latency_ms=latency_ms,
            finish_reason=choice.finish_reason,
        )

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
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("choices"), list)
        or not body["choices"]
    ):
        raise httpx2.DecodingError(
            "the server's reply is not a chat completion", request=response.request
        )


def _status_message(err: Any) -> str:
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        message = body.get("message") or (body.get("error") or {}).get("message")
        if message:
            return str(message)
    return str(getattr(err, "message", "") or err)
