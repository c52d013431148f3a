"""`cuf-tui prompts import-paper DIR`: the principles, judging rubrics and grading criteria of
the paper's authors, read from a checkout of their repository into a workspace's `prompts/`
overrides, so that the paper's exact wording can be used. Their files are Python; they are
parsed as data (string constants, and dicts or lists of them) and never run."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cuf_tui.core.preferences import PREFERENCES
from cuf_tui.prompts import PromptError

# Where the authors keep each kind of definition, and the name it is bound to there.
PRINCIPLES = ("src/templates/principles.py", "principles")
JUDGE_TEMPLATES = ("src/templates/base_judge_templates.py", "judge_templates")
GRADING_TEMPLATES = ("src/templates/single_grading_templates.py", "single_grading_templates")
MAX_FILE_BYTES = 4_000_000
# A judging or grading template's own definition ends where its output format begins.
FORMAT_HEADING = "## Format"
# The system prompts, one string each: (their file, their name) -> our template.
SYSTEM_PROMPTS = {
    ("src/templates/base_judge_templates.py", "judge_system_prompt"): "judge_system.j2",
    ("src/templates/single_grading_templates.py", "single_grading_system_prompt"): (
        "bench_system.j2"
    ),
}


@dataclass(frozen=True)
class PaperPrompt:
    name: str  # the template's path under prompts/, e.g. "rubrics/style.j2"
    text: str
    source: str  # the file it was read from, relative to the repository


def read_paper_prompts(repository: Path) -> list[PaperPrompt]:
    """Every principle list, rubric, grading criterion and system prompt the repository
    defines, as our templates: `principles/<preference>.j2` (one paragraph each),
    `rubrics/<preference>.j2` and `grading/<preference>.j2` (the part of each template before
    its output format: the format a judge answers in stays ours, as the readers expect it),
    `judge_system.j2` and `bench_system.j2`."""
    if not repository.is_dir():
        raise PromptError(f"{repository}: not a folder (give a checkout of the paper's repository)")
    prompts: list[PaperPrompt] = []
    principles = _definition(repository, *PRINCIPLES)
    for preference in PREFERENCES:
        listed = _entry(principles, preference, PRINCIPLES)
        if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
            raise PromptError(f"{PRINCIPLES[0]}: {preference} holds no list of principles")
        if not any(p.strip() for p in listed):
            raise PromptError(f"{PRINCIPLES[0]}: {preference} holds no principle")
        text = "\n\n".join(" ".join(p.split()) for p in listed)
        prompts.append(PaperPrompt(f"principles/{preference}.j2", text, PRINCIPLES[0]))
    for folder, where in (("rubrics", JUDGE_TEMPLATES), ("grading", GRADING_TEMPLATES)):
        templates = _definition(repository, *where)
        for preference in PREFERENCES:
            template = _entry(templates, preference, where)
            if not isinstance(template, str) or FORMAT_HEADING not in template:
                raise PromptError(
                    f"{where[0]}: the {preference} template has no '{FORMAT_HEADING}'"
                )
            definition = template.split(FORMAT_HEADING, 1)[0].strip()
            prompts.append(PaperPrompt(f"{folder}/{preference}.j2", definition, where[0]))
    for (relative, name), ours in SYSTEM_PROMPTS.items():
        system = _bindings_of(repository, relative).get(name)
        if not isinstance(system, str):
            raise PromptError(f"{repository / relative}: defines no {name} string")
        prompts.append(PaperPrompt(ours, system.strip(), relative))
    return prompts


def write_paper_prompts(
    prompts: list[PaperPrompt], workspace_root: Path, *, force: bool = False
) -> list[Path]:
    """Write ``prompts`` as the workspace's overrides: all of them, or none (when one is
    there already and ``force`` is not given, or when the templates would not load). Their
    text is kept verbatim: every Jinja2 delimiter in it is written as text to print."""
    from cuf_tui.prompts import load_prompts

    folder = workspace_root / "prompts"
    paths = [folder / prompt.name for prompt in prompts]
    there = [p for p in paths if p.exists()]
    if there and not force:
        shown = ", ".join(str(p.relative_to(workspace_root)) for p in there[:3])
        more = f" and {len(there) - 3} more" if len(there) > 3 else ""
        raise PromptError(f"{shown}{more}: already overridden; --force replaces them")
    texts = {prompt.name: verbatim(prompt.text) + "\n" for prompt in prompts}
    load_prompts(workspace_root, extra=texts)  # they load and render, before any is written
    for prompt, path in zip(prompts, paths, strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(texts[prompt.name], encoding="utf-8")
        tmp.replace(path)
    return paths


def verbatim(text: str) -> str:
    """``text`` as a Jinja2 template that renders to exactly ``text``: each opening
    delimiter (`{{`, `{%`, `{#`) becomes an expression that prints it, so nothing in the
    text is ever read as a tag (not even `{% endraw %}`)."""
    return _OPENING.sub(lambda found: "{{ '" + found.group(0) + "' }}", text)


_OPENING = re.compile(r"\{[{%#]")


def _definition(repository: Path, relative: str, name: str) -> Mapping[str, Any]:
    """The dict bound to ``name`` at the top of the repository's file ``relative``."""
    path = repository / relative
    bound = _bindings_of(repository, relative)
    if name not in bound:
        raise PromptError(
            f"{path}: defines no {name} that can be read as data (a dict of strings, or of "
            "lists of strings)"
        )
    value = bound[name]
    if not isinstance(value, dict):
        raise PromptError(f"{path}: {name} is not a dict of the preferences")
    return value


def _bindings_of(repository: Path, relative: str) -> dict[str, Any]:
    """The literal bindings at the top of the repository's file ``relative``: a regular
    file inside the repository (a link may not lead out of it), of at most MAX_FILE_BYTES."""
    path = repository / relative
    try:
        inside = path.resolve().is_relative_to(repository.resolve())
    except (OSError, RuntimeError) as err:
        raise PromptError(f"{path}: cannot follow this path ({err})") from None
    if path.exists() and not inside:
        raise PromptError(f"{path}: a link that leads out of {repository}; refusing to read it")
    if path.exists() and not path.is_file():
        raise PromptError(f"{path}: not a regular file")
    if path.exists() and path.stat().st_size > MAX_FILE_BYTES:
        raise PromptError(
            f"{path}: {path.stat().st_size:,} bytes; the paper's definitions are far smaller "
            f"(at most {MAX_FILE_BYTES:,} are read)"
        )
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptError(
            f"{path}: not found; is {repository} a checkout of the paper's repository?"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise PromptError(f"{path}: cannot read it ({err})") from None
    try:
        module = ast.parse(source, filename=str(path))
    except (SyntaxError, ValueError) as err:
        raise PromptError(f"{path}: not Python that can be read ({err})") from None
    except (RecursionError, MemoryError):
        raise PromptError(f"{path}: nested too deeply to read as data") from None
    try:
        return _bindings(module)
    except RecursionError:
        raise PromptError(f"{path}: nested too deeply to read as data") from None


def _bindings(module: ast.Module) -> dict[str, Any]:
    """Top-level `NAME = <literal>` bindings, where a literal may name an earlier binding
    (as `judge_templates = {'style': coding_style_template}` does). Nothing is run."""
    bound: dict[str, Any] = {}
    for statement in module.body:
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ):
            try:
                bound[statement.targets[0].id] = _literal(statement.value, bound)
            except ValueError:
                continue  # not data: left alone
    return bound


def _literal(node: ast.expr, bound: dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and node.id in bound:
        return bound[node.id]
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(item, bound) for item in node.elts]
    if isinstance(node, ast.Dict):
        result: dict[str, Any] = {}
        for key, value in zip(node.keys, node.values, strict=True):
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                raise ValueError("a key that is not a string")
            result[key.value] = _literal(value, bound)
        return result
    raise ValueError(f"not a literal: {type(node).__name__}")


def _entry(definitions: Mapping[str, Any], preference: str, where: tuple[str, str]) -> Any:
    if preference not in definitions:
        raise PromptError(f"{where[0]}: {where[1]} has nothing for the preference {preference}")
    return definitions[preference]
