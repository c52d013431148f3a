"""The HTTP transport under the SDK's client: each attempt bounded as a whole, counted, and
its reply read and checked once.

Imported only when a batch makes its first client (it needs httpx2 at import time).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2

from cuf_tui.engines.openai_client import TRANSIENT_STATUS, AttemptCounts
from cuf_tui.engines.replies import Secrets, not_a_completion

COMPLETION = "cuf_tui.completion"  # a reply's extension: its JSON, read and checked


class WholeAttempts(httpx2.AsyncBaseTransport):
    """The HTTP transport under the SDK: bounds each attempt as a whole (an httpx timeout
    bounds each read, so a server that sends a byte a second never times out), reads the body
    inside that bound, and counts the attempts the SDK retries and the 429s it waits on."""

    def __init__(
        self,
        inner: httpx2.AsyncBaseTransport,
        timeout: float,
        attempts: AttemptCounts,
        where: str,
        secrets: Secrets,
    ) -> None:
        self.inner = inner
        self.timeout = timeout
        self.attempts = attempts
        self.where = where
        self.secrets = secrets

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        retry = request.headers.get("x-stainless-retry-count", "0")
        if retry.isdigit() and int(retry) > 0:
            self.attempts.retries += 1
        try:
            async with asyncio.timeout(self.timeout):
                response = await self.inner.handle_async_request(request)
                try:
                    body = b"".join([chunk async for chunk in response.aiter_raw()])
                finally:
                    await response.aclose()
        except TimeoutError:
            self.attempts.note(f"{self.where}: no whole reply within {self.timeout:g} s")
            raise httpx2.ReadTimeout(
                f"no whole reply within {self.timeout:g} s", request=request
            ) from None
        except httpx2.TransportError as err:
            self.attempts.note(
                self.secrets.redact(f"{self.where}: {type(err).__name__}: {err or 'dropped'}")
            )
            raise
        status = response.status_code
        if status == 429:
            self.attempts.rate_limited += 1
            wait = response.headers.get("retry-after")
            self.attempts.note(
                f"{self.where}: 429 rate limited" + (f", retry after {wait} s" if wait else "")
            )
        elif status in TRANSIENT_STATUS:
            self.attempts.note(f"{self.where}: HTTP {status}")
        reply = httpx2.Response(
            status,
            headers=response.headers,
            content=body,
            request=request,
            extensions=response.extensions,
        )
        if status == 200 and request.url.path.endswith("/chat/completions"):
            # A body cut short or not a chat completion is a transport error, which the
            # SDK's retry loop covers like a dropped connection.
            reply.extensions = {**reply.extensions, COMPLETION: _completion(reply, request)}
        return reply

    async def aclose(self) -> None:
        await self.inner.aclose()


def _completion(reply: httpx2.Response, request: httpx2.Request) -> dict[str, Any]:
    """The reply's JSON, when it is a whole chat completion."""
    try:
        body = json.loads(reply.content)
    except ValueError:
        raise httpx2.DecodingError(
            "the server's reply is not valid JSON", request=request
        ) from None
    problem = not_a_completion(body)
    if problem:
        raise httpx2.DecodingError(
            f"the server's reply is not a chat completion ({problem})", request=request
        )
    return dict(body)
