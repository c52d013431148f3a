"""The one client path, straight against the loopback server: a completion read once, with
its finish reason and believable usage; failures named with model and URL; and what a
server says back made fit to store."""

from __future__ import annotations

import asyncio

import pytest

from cuf_tui.config import ModelEntry
from cuf_tui.engines.openai_client import ChatEndpoint, RequestFailed
from cuf_tui.engines.replies import Secrets, believable_usage, replace_invalid_code_points
from tests.batch_helpers import KEY_ENV, SECRET


def endpoint_for(server, model: str, **settings) -> ChatEndpoint:
    entry = ModelEntry(
        name=model,
        engine="openai",
        model=model,
        base_url=server.base_url,
        api_key_env=KEY_ENV,
        **settings,
    )
    return ChatEndpoint(entry, Secrets())


def ask(endpoint: ChatEndpoint, text: str = "Sort a list.") -> object:
    async def run() -> object:
        try:
            return await endpoint.chat([{"role": "user", "content": text}])
        finally:
            await endpoint.close()

    return asyncio.run(run())


def test_a_completion_carries_its_text_finish_reason_and_usage(server) -> None:
    completion = ask(endpoint_for(server, "cutoff-alpha"))
    assert completion.text.endswith("-- answered by cutoff-alpha")
    assert completion.finish_reason == "length"
    assert completion.prompt_tokens > 0 and completion.completion_tokens > 0
    assert completion.usage_ignored is None


def test_a_failure_names_the_model_and_its_server(server) -> None:
    with pytest.raises(RequestFailed) as failed:
        ask(endpoint_for(server, "bad400"))
    assert str(failed.value).startswith(f"bad400 at {server.base_url}: HTTP 400: ")
    assert not failed.value.transient


def test_retries_are_counted_where_the_batch_can_read_them(server) -> None:
    endpoint = endpoint_for(server, "flaky429-alpha", max_retries=3)
    seen: list[str] = []
    endpoint.attempts.note = seen.append
    ask(endpoint)
    assert (endpoint.attempts.retries, endpoint.attempts.rate_limited) == (2, 2)
    assert len(seen) == 2 and all("429 rate limited" in line for line in seen)


def test_a_key_and_every_piece_of_it_is_removed_from_messages() -> None:
    secrets = Secrets()
    secrets.add(SECRET)
    assert secrets.redact(f"key {SECRET} refused") == "key [redacted] refused"
    masked = f"{SECRET[:8]}{'*' * 20}{SECRET[-4:]}."
    assert secrets.redact(f"Incorrect key: {masked}") == "Incorrect key: [redacted]."
    assert secrets.redact(f"tail {SECRET[-6:]}") == "tail [redacted]"
    assert secrets.redact("a project with a test and 404 errors") == (
        "a project with a test and 404 errors"
    )
    assert secrets.remove(f"answer: {SECRET}") == "answer: [redacted]"


def test_half_a_character_and_usage_no_request_could_use_are_caught() -> None:
    assert replace_invalid_code_points("cut \ud83d") == ("cut \ufffd", 1)
    messages = [{"role": "user", "content": "x" * 40}]
    assert believable_usage({"prompt_tokens": 12, "completion_tokens": 5}, messages, 64) == (
        12,
        5,
        None,
    )
    for usage in (
        {"prompt_tokens": -1, "completion_tokens": 5},
        {"prompt_tokens": 12, "completion_tokens": 10**9},
        {"prompt_tokens": "12", "completion_tokens": 5},
        {"prompt_tokens": True, "completion_tokens": 5},
    ):
        prompt, completion, why = believable_usage(usage, messages, 64)
        assert (prompt, completion) == (0, 0) and why
