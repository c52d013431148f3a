"""What comes back from a server, made fit to store: text without half characters, token
counts a server cannot have meant left out, and no secret (or piece of one) in any message."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

MAX_BELIEVABLE_TOKENS = 10_000_000  # per request; usage above this is a server's bug


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
    if not isinstance(usage, dict):
        return 0, 0, None
    prompt = usage.get("prompt_tokens", 0)
    completion = usage.get("completion_tokens", 0)
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


def not_a_completion(body: Any) -> str | None:
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
