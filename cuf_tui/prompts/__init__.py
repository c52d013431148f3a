"""The shipped prompt templates, and loading them with a workspace's own `prompts/` on top."""

from __future__ import annotations

from pathlib import Path

import jinja2

from cuf_tui.core.prompts import PromptSet
from cuf_tui.errors import CufError

SHIPPED = Path(__file__).resolve().parent


class PromptError(CufError):
    """A prompt template is missing or broken."""


def load_prompts(
    workspace_root: Path | None = None, extra: dict[str, str] | None = None
) -> PromptSet:
    """Every shipped template, each replaced by the workspace's file of the same path (and
    then by ``extra``'s text of that name: templates about to be written, checked first)."""
    texts: dict[str, str] = {}
    roots = [SHIPPED] + ([workspace_root / "prompts"] if workspace_root else [])
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*.j2")):
            name = path.relative_to(root).as_posix()
            try:
                texts[name] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                raise PromptError(f"{path}: cannot read this template ({err})") from None
    texts.update(extra or {})
    prompts = PromptSet(texts)
    try:
        prompts.check()
    except jinja2.TemplateSyntaxError as err:
        raise PromptError(f"{err.filename or err.name}, line {err.lineno}: {err.message}") from None
    except (jinja2.TemplateError, ValueError) as err:
        raise PromptError(f"prompt templates: {err}") from None
    return prompts
