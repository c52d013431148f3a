"""Before a batch: one cheap request (`GET /models`) to every server someone else runs, so an
unreachable server or a refused key is one clear error naming the model and the URL, not a
failed unit per request."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from cuf_tui.config import ModelEntry
from cuf_tui.engines.openai_client import DEFAULT_BASE_URL, EngineError, api_key_for
from cuf_tui.engines.replies import Secrets

PROBE_TIMEOUT_S = 10.0


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


def _probe_headers(key: str) -> dict[str, str]:
    """The key as OpenAI-compatible servers take it and as Anthropic's API takes it for
    `GET /models` (its chat endpoint takes the Bearer token; its model list does not)."""
    return {"Authorization": f"Bearer {key}", "x-api-key": key, "anthropic-version": "2023-06-01"}


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
        reply = await http.get(f"{base}/models", headers=_probe_headers(key))
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
