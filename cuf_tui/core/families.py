"""Model families, for self-preference: a judge may favour answers written by models of its
own family (its own outputs, or its siblings'). A `[[models]]` or `[[judges]]` entry may name
its `family`; otherwise it is read from the model id."""

from __future__ import annotations

import re
from typing import Final

# Read in this order: the first family whose pattern occurs in the id wins, so the more
# particular names come before the words they contain (codellama before llama).
FAMILY_PATTERNS: Final[tuple[tuple[str, str], ...]] = (
    ("wizardlm", r"wizard"),
    ("codellama", r"code-?llama"),
    ("llama", r"llama"),
    ("deepseek", r"deepseek"),
    ("qwen", r"qwen"),
    ("mistral", r"mistral|mixtral|codestral|ministral"),
    ("gemma", r"gemma|codegemma"),
    ("gemini", r"gemini"),
    ("starcoder", r"starcoder|starchat|bigcode"),
    ("phi", r"(^|[/_\-])phi-?\d"),
    ("claude", r"claude|anthropic"),
    ("gpt", r"(^|[/_\-])gpt|(^|[/_\-])o[134](-|$)|chatgpt|openai"),
    ("smollm", r"smollm"),
    ("yi", r"(^|[/_\-])yi-"),
    ("granite", r"granite"),
    ("command", r"command-r|cohere"),
)
# Families of one maker whose models learn from each other's data (CodeLlama is a Llama 2).
RELATED: Final[dict[str, str]] = {"codellama": "llama"}


def infer_family(model_id: str) -> str | None:
    """The family a model id names (``meta-llama/CodeLlama-7b`` is codellama), or None."""
    lowered = model_id.lower()
    for family, pattern in FAMILY_PATTERNS:
        if re.search(pattern, lowered):
            return family
    return None


def same_family(a: str | None, b: str | None) -> bool:
    """Whether two families are one for self-preference (codellama counts as llama)."""
    if a is None or b is None:
        return False
    return RELATED.get(a, a) == RELATED.get(b, b)
