"""The prompts of generation and judging, rendered from Jinja2 template texts.

Instruction and response texts are passed to templates as values, never compiled as
templates, so braces, `{{ }}` or `{% %}` inside them reach the model verbatim.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from cuf_tui.core.preferences import PREFERENCES, Preference

Message = dict[str, str]
AnswerFormat = Literal["sections", "json"]


class PromptSet:
    """Template texts by name (``judge.j2``, ``rubrics/style.j2``, ...)."""

    def __init__(self, texts: Mapping[str, str]) -> None:
        self.texts = dict(texts)
        # Sandboxed: a template (a workspace's own, or text brought in from elsewhere) can
        # print values and loop, but never reach Python objects beyond them.
        self.env = SandboxedEnvironment(
            loader=jinja2.DictLoader(self.texts),
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
        )
        self._rendered: dict[str, str] = {}
        self._hashes: dict[tuple[str, ...], str] = {}

    def names(self) -> list[str]:
        return sorted(self.texts)

    def sha256(self, name: str) -> str:
        """The SHA-256 of one template's text."""
        return hashlib.sha256(self.texts[name].encode()).hexdigest()

    def render(self, name: str, **values: Any) -> str:
        return self.env.get_template(name).render(**values).strip()

    # ------------------------------------------------------------------------ generation

    def principles(self, preference: Preference) -> list[str]:
        text = self._fixed(f"principles/{preference}.j2")
        return [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]

    def choose_principle(
        self, preference: Preference, seed: int, instruction_key: str, model: str
    ) -> str:
        """A principle for one model's answer to one instruction: each model draws its own,
        as in the paper (so an instruction's responses usually follow different principles);
        seeded, so a re-run picks the same one."""
        options = self.principles(preference)
        return random.Random(f"{seed}:principle:{instruction_key}:{model}").choice(options)

    def generation_messages(
        self, instruction: str, preference: Preference, principle: str
    ) -> list[Message]:
        system = self.render("generate_system.j2", principle=principle, preference=preference)
        return [{"role": "system", "content": system}, {"role": "user", "content": instruction}]

    def bench_messages(
        self, instruction: str, preference: Preference, principle: str, principle_in: str
    ) -> list[Message]:
        """A bench item as the model under test is asked it: the principle before the
        instruction in the one user message (the paper's way), or in a system prompt."""
        if principle_in == "system":
            return self.generation_messages(instruction, preference, principle)
        return [{"role": "user", "content": f"{principle}\n\n{instruction}"}]

    # --------------------------------------------------------------------------- judging

    def judge_messages(
        self,
        instruction: str,
        preference: Preference,
        responses: Sequence[str],
        answer_format: AnswerFormat = "sections",
    ) -> list[Message]:
        """The judge's prompt; ``answer_format`` "json" asks for the JSON object that
        schema-constrained decoding produces instead of one section per response."""
        rubric = self._fixed(f"rubrics/{preference}.j2")
        request = self.render(
            "judge.j2",
            rubric=rubric,
            preference=preference,
            instruction=instruction,
            responses=list(responses),
            answer_format=answer_format,
        )
        return [
            {"role": "system", "content": self._fixed("judge_system.j2")},
            {"role": "user", "content": request},
        ]

    def _fixed(self, name: str) -> str:
        """A template that takes no values, rendered once."""
        if name not in self._rendered:
            self._rendered[name] = self.render(name)
        return self._rendered[name]

    def repair_message(self, count: int) -> Message:
        return {"role": "user", "content": self.render("judge_repair.j2", count=count)}

    def judge_template_sha256(
        self, preference: Preference, answer_format: AnswerFormat = "sections"
    ) -> str:
        """The identity of a judgment's prompt recipe: its templates and answer format."""
        names = ("judge_system.j2", "judge.j2", f"rubrics/{preference}.j2", "judge_repair.j2")
        return self._recipe_sha256(names, answer_format)

    def _recipe_sha256(self, names: tuple[str, ...], answer_format: AnswerFormat) -> str:
        """SHA-256 over the named templates (name and text), then over the answer format
        unless it is the plain sections one. Computed once per recipe."""
        key = (*names, answer_format)
        if key not in self._hashes:
            digest = hashlib.sha256()
            for name in names:
                digest.update(name.encode() + b"\0" + self.texts[name].encode() + b"\0")
            plain = digest.hexdigest()
            self._hashes[key] = (
                plain
                if answer_format == "sections"
                else hashlib.sha256(f"{plain}:{answer_format}".encode()).hexdigest()
            )
        return self._hashes[key]

    # ------------------------------------------------------------------------ bench grading

    def grade_messages(
        self,
        instruction: str,
        preference: Preference,
        reference: str,
        answer: str,
        answer_format: AnswerFormat = "sections",
    ) -> list[Message]:
        """A reference-guided single-answer grading request (CODAL-Bench, 1 to 10)."""
        request = self.render(
            "bench_grade.j2",
            criteria=self._fixed(f"grading/{preference}.j2"),
            preference=preference,
            instruction=instruction,
            reference=reference,
            answer=answer,
            answer_format=answer_format,
        )
        return [
            {"role": "system", "content": self._fixed("bench_system.j2")},
            {"role": "user", "content": request},
        ]

    def grade_repair_message(self) -> Message:
        return {"role": "user", "content": self._fixed("bench_repair.j2")}

    def grade_template_sha256(
        self, preference: Preference, answer_format: AnswerFormat = "sections"
    ) -> str:
        """The identity of a grade's prompt recipe: its templates and answer format."""
        names = ("bench_system.j2", "bench_grade.j2", f"grading/{preference}.j2", "bench_repair.j2")
        return self._recipe_sha256(names, answer_format)

    def generation_sha256(self) -> str:
        """The identity of a generation request's template."""
        return self._recipe_sha256(("generate_system.j2",), "sections")

    def grading_sha256(self, answer_format: AnswerFormat = "sections") -> str:
        """The identity of a whole grading recipe (every preference's criteria and the
        request around them): grades made with one recipe are one run of a leaderboard."""
        names = (
            "bench_system.j2",
            "bench_grade.j2",
            *(f"grading/{preference}.j2" for preference in PREFERENCES),
            "bench_repair.j2",
        )
        return self._recipe_sha256(names, answer_format)

    def check(self) -> None:
        """Fail early on a missing or broken template, naming it."""
        for preference in PREFERENCES:
            count = len(self.principles(preference))
            if count < 1:
                raise ValueError(f"principles/{preference}.j2 holds no principle")
            for answer_format in ("sections", "json"):
                self.judge_messages("instruction", preference, ["a", "b"], answer_format)
        self.generation_messages("instruction", "style", "principle")
        self.repair_message(2)
        for preference in PREFERENCES:
            self.grade_messages("instruction", preference, "reference", "answer")
        self.grade_repair_message()
