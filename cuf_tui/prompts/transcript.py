"""Every request, as it went: for a response or a judgment, the messages that were sent (rebuilt
from the stored template and inputs when the template is unchanged, or said plainly when it
is not), the parameters, the raw reply, and what the store recorded of the attempt (finish
reason, tokens, cost, latency, errors)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from cuf_tui.core.preferences import Preference
from cuf_tui.core.prompts import AnswerFormat, PromptSet
from cuf_tui.store.db import Store
from cuf_tui.store.stored import stored_mapping, stored_names


def response_transcript(
    store: Store, prompts: PromptSet, instruction_id: int, model: str
) -> str | None:
    """The transcript of ``model``'s response to an instruction (None: there is none)."""
    rows = store.query(
        "SELECT r.*, i.text AS instruction, i.preference FROM responses r "
        "JOIN instructions i ON i.id = r.instruction_id "
        "WHERE r.instruction_id = ? AND r.model = ?",
        (instruction_id, model),
    )
    if not rows:
        return None
    row = rows[0]
    out = [f"Response of {model} to instruction #{instruction_id} ({row['source']})", ""]
    if row["source"] != "generated":
        out.append("Imported: made elsewhere, so no request, tokens or timing are on record.")
        out += ["", "== Reply", row["text"] if row["text"] is not None else "(none)"]
        return "\n".join(out)
    out += _request_of_response(prompts, row)
    out += ["", "== Reply", row["text"] if row["text"] is not None else "(none)"]
    out += ["", *_attempt(row)]
    return "\n".join(out)


def _request_of_response(prompts: PromptSet, row: dict[str, Any]) -> list[str]:
    lines = ["== Parameters", _parameters(row.get("sampling"))]
    principle = row["principle"]
    if principle is None:
        return [*lines, "", "(no principle was recorded, so the request cannot be rebuilt)"]
    preference = cast(Preference, row["preference"])
    messages = prompts.generation_messages(row["instruction"], preference, principle)
    stored = row.get("prompt_sha256")
    if stored is None:
        note = "rebuilt with today's templates (the template used then was not recorded)"
    elif stored == prompts.generation_sha256():
        note = "rebuilt exactly: the template is the one it was sent with"
    else:
        note = (
            f"the template has changed since (it was {stored[:12]}); shown with today's, "
            "so it may differ from what was sent"
        )
    return [*lines, "", f"== Request ({note})", *_messages(messages)]


def judgment_transcript(store: Store, prompts: PromptSet, judgment_id: int) -> str | None:
    """The transcript of a judgment: the responses in the order the judge saw them."""
    rows = store.query(
        "SELECT j.*, i.text AS instruction, i.preference FROM judgments j "
        "JOIN instructions i ON i.id = j.instruction_id WHERE j.id = ?",
        (judgment_id,),
    )
    if not rows:
        return None
    row = rows[0]
    order = stored_names(row["order_shown"])
    shown = ", ".join(f"{i}. {m}" for i, m in enumerate(order or [], 1))
    out = [
        f"Judgment of instruction #{row['instruction_id']} by {row['judge']} ({row['state']})",
        "",
        "Order shown: " + (shown if order is not None else unreadable(row["order_shown"])),
    ]
    responses = dict(
        store.db.execute(
            "SELECT model, text FROM responses WHERE instruction_id = ? AND state = 'done'",
            (row["instruction_id"],),
        ).fetchall()
    )
    preference = cast(Preference, row["preference"])
    template = row["template_sha256"]
    formats = _formats_of(template, lambda f: prompts.judge_template_sha256(preference, f))
    if template == "imported":
        out += ["", "Imported: the judge's request was made elsewhere."]
        out += ["", "== Reply", row["raw_output"] or "(not kept)"]
        return "\n".join(out)
    elif not formats or order is None or any(m not in responses for m in order):
        out += [
            "",
            f"== Request: its template ({template[:12]}) is not today's, or a response is gone; "
            "it cannot be rebuilt exactly",
        ]
    else:
        texts = [responses[m] for m in order]
        messages = prompts.judge_messages(row["instruction"], preference, texts, formats[0])
        out += ["", "== Request (rebuilt exactly: the templates are the ones it was sent with)"]
        out += _messages(messages)
    repaired = " (the first answer, then the repair request's)" if row.get("repaired") else ""
    out += ["", f"== Reply{repaired}", row["raw_output"] or "(not kept)"]
    out += ["", *_attempt(row)]
    return "\n".join(out)


def grade_transcript(store: Store, prompts: PromptSet, grade_id: int) -> str | None:
    """The transcript of a CODAL-Bench grade: the answer's request (the model under test),
    then the grader's, with each reply and what the store recorded of each."""
    rows = store.query(
        "SELECT g.*, a.model, a.text AS answer, a.principle, a.sampling, a.protocol, "
        "a.source AS answer_source, a.state AS answer_state, b.text AS item, b.preference, "
        "r.text AS reference FROM bench_grades g JOIN bench_answers a ON a.id = g.bench_answer_id "
        "JOIN bench_items b ON b.id = a.bench_item_id LEFT JOIN bench_references r "
        "ON r.bench_item_id = b.id AND r.model = g.reference_model WHERE g.id = ?",
        (grade_id,),
    )
    if not rows:
        return None
    row = rows[0]
    preference = cast(Preference, row["preference"])
    out = [f"{row['model']}'s answer to a bench item of {preference} ({row['answer_source']})"]
    if row["answer_source"] != "generated" or row["principle"] is None:
        out.append("Made elsewhere (or before principles were recorded): no request on record.")
    else:
        protocol = row["protocol"] or "unrecorded"
        principle_in = "system" if "principle_in system" in protocol else "user"
        messages = prompts.bench_messages(row["item"], preference, row["principle"], principle_in)
        out += [f"protocol: {protocol}", "== Parameters", _parameters(row["sampling"])]
        out += ["", "== Request (rebuilt from the stored principle and the item)"]
        out += _messages(messages)
    out += ["", "== Reply", row["answer"] if row["answer"] is not None else "(none)", ""]
    out.append(f"Grade by {row['judge']} against {row['reference_model']}'s reference")
    template = row["template_sha256"]
    formats = _formats_of(template, lambda f: prompts.grade_template_sha256(preference, f))
    if template == "imported":
        out.append("Imported: the grader's request was made elsewhere.")
        out += ["", "== Reply", row["raw_output"] or "(not kept)"]
        return "\n".join(out)
    elif not formats or row["reference"] is None or row["answer"] is None:
        out.append(
            f"== Request: its template ({template[:12]}) is not today's, or its inputs are "
            "gone; it cannot be rebuilt exactly"
        )
    else:
        messages = prompts.grade_messages(
            row["item"], preference, row["reference"], row["answer"], formats[0]
        )
        out += ["== Request (rebuilt exactly: the templates are the ones it was sent with)"]
        out += _messages(messages)
    out += ["", "== Reply", row["raw_output"] or "(not kept)", "", *_attempt(row)]
    return "\n".join(out)


def _formats_of(template: str, sha256_of: Callable[[AnswerFormat], str]) -> list[AnswerFormat]:
    """The answer formats whose recipe, with today's templates, has the stored hash: the
    request can be rebuilt exactly in those."""
    formats: tuple[AnswerFormat, ...] = ("sections", "json")
    return [f for f in formats if sha256_of(f) == template]


def _messages(messages: list[dict[str, str]]) -> list[str]:
    lines: list[str] = []
    for message in messages:
        lines += [f"--- {message['role']}", message["content"]]
    return lines


def _parameters(sampling: str | None) -> str:
    if not sampling:
        return "(not recorded)"
    values = stored_mapping(sampling)
    if values is None:
        return unreadable(sampling)
    return ", ".join(f"{key} {value}" for key, value in sorted(values.items()))


def unreadable(raw: str) -> str:
    """What a damaged stored value shows: that it is, and its start."""
    start = raw if len(raw) <= 60 else raw[:59] + "…"
    return f"(unreadable as stored: {start!r})"


def _attempt(row: dict[str, Any]) -> list[str]:
    """What the store recorded of the request's last attempt."""
    lines = ["== Attempt", f"state: {row['state']}"]
    if row.get("error"):
        permanent = " (a retry cannot fix it)" if row.get("permanent_failure") else ""
        lines.append(f"error: {row['error']}{permanent}")
    if row.get("finish_reason"):
        cut = " (cut off at max_tokens)" if row["finish_reason"] == "length" else ""
        lines.append(f"finish reason: {row['finish_reason']}{cut}")
    tokens = (row.get("prompt_tokens") or 0, row.get("completion_tokens") or 0)
    lines.append(
        f"tokens: {tokens[0]:,} in, {tokens[1]:,} out; cost ${row.get('cost_usd') or 0:.4f}"
    )
    if row.get("latency_ms") is not None:
        lines.append(f"latency: {row['latency_ms'] / 1000:.2f} s")
    if row.get("replaced_chars"):
        lines.append(f"invalid characters replaced: {row['replaced_chars']}")
    lines.append(f"finished: {row['finished_at']}")
    return lines
