"""Reading a judge's answer: a rating 1..5 (or none) and a rationale for each response shown.

Judges rarely write exactly the requested format. This reads JSON answers (bare or in a code
fence, in several shapes), sections headed per response in any order (markdown headings,
bold labels, "Output for Text N", numbered lists), labels wrapped in emphasis, ratings
written "4", "4/5", "Highly Compliant (4)" or "N/A", rationales that span paragraphs (even
with a line that starts "Response 2:"), and preambles or closing remarks around the sections.
A rating outside 1..5, or not a whole number, is no rating. A judgment is read whole when
every response shown has a rating or an explicit N/A (the judge saying it cannot rate it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

SCALE_MAX = 5


@dataclass(frozen=True)
class ReadRating:
    rating: int | None
    rationale: str
    na: bool = False  # the judge wrote N/A: it cannot rate this response (a valid answer)

    @property
    def stated(self) -> bool:
        """A rating, or an explicit N/A: what the judge meant can be read."""
        return self.rating is not None or self.na


@dataclass(frozen=True)
class ReadJudgment:
    """What could be read, by the position (1-based) at which the judge saw each response."""

    count: int
    by_position: dict[int, ReadRating]

    @property
    def parsed(self) -> bool:
        """Every response shown has a rating or an explicit N/A (all N/A is a judgment)."""
        return all(self.at(p).stated for p in range(1, self.count + 1))

    def at(self, position: int) -> ReadRating:
        return self.by_position.get(position, ReadRating(None, ""))


def read_judge_output(text: str, count: int, scale_max: int = SCALE_MAX) -> ReadJudgment:
    """Read ratings for ``count`` responses from a judge's answer."""
    for candidate in _json_candidates(text):
        found = _from_json(candidate, count, scale_max)
        if found:
            return ReadJudgment(count, found)
    found = _from_sections(text, count, scale_max)
    if not any(r.stated for r in found.values()):
        in_order = _from_rating_sequence(text, count, scale_max)
        if any(r.stated for r in in_order.values()):
            found = in_order
    return ReadJudgment(count, found)


# ----------------------------------------------------------------------------------- JSON

_FENCE = re.compile(r"```[a-zA-Z]*\s*\n(.*?)```", re.DOTALL)
_RATING_KEYS = ("rating", "score", "grade")
_RATIONALE_KEYS = ("rationale", "explanation", "reason", "reasoning", "justification", "comment")
_POSITION_KEYS = ("response", "response_id", "id", "index", "position", "text", "output", "number")
_LIST_KEYS = ("ratings", "evaluations", "responses", "results", "scores", "annotations")


def _json_candidates(text: str) -> Iterator[Any]:
    pieces = [m.group(1) for m in _FENCE.finditer(text)]
    stripped = text.strip()
    pieces.append(stripped)
    for opener, closer in (("{", "}"), ("[", "]")):
        start, end = stripped.find(opener), stripped.rfind(closer)
        if 0 <= start < end:
            pieces.append(stripped[start : end + 1])
    for piece in pieces:
        try:
            # strict=False: judges often put raw newlines inside strings (llama.cpp's JSON
            # grammar lets them through); the text is still unambiguous.
            yield json.loads(piece, strict=False)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than it can follow
            continue


def _from_json(value: Any, count: int, scale_max: int) -> dict[int, ReadRating]:
    entries: list[tuple[int | None, Any]] = []
    if isinstance(value, dict):
        listed = next((value[k] for k in _LIST_KEYS if isinstance(value.get(k), list)), None)
        if listed is not None:
            entries = [(None, item) for item in listed]
        else:
            for key, item in value.items():
                position = _position(key)
                if position is not None and isinstance(item, dict | int | str | float):
                    entries.append((position, item))
    elif isinstance(value, list):
        entries = [(None, item) for item in value]
    found: dict[int, ReadRating] = {}
    for index, (position, item) in enumerate(entries, start=1):
        if isinstance(item, dict):
            if position is None:
                named = next((item[k] for k in _POSITION_KEYS if k in item), None)
                position = _position(named) if named is not None else index
            raw = next((item[k] for k in _RATING_KEYS if k in item), None)
            rationale = next((item[k] for k in _RATIONALE_KEYS if k in item), "")
        else:
            raw, rationale = item, ""
        if position is None or not 1 <= position <= count or position in found:
            continue
        why = str(rationale or "").strip()
        found[position] = ReadRating(_rating(raw, scale_max), why, _is_na(raw))
    return found if any(r.stated for r in found.values()) else {}


def _position(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        match = re.search(r"(\d+)\s*$", value.strip())
        return int(match.group(1)) if match else None
    return None


def _is_na(raw: Any) -> bool:
    """The judge's "N/A": it cannot rate the response (as the paper's judges were told)."""
    return isinstance(raw, str) and raw.strip().strip("*_[] ").upper() in ("N/A", "NA")


def _rating(raw: Any, scale_max: int) -> int | None:
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, int):
        return raw if 1 <= raw <= scale_max else None
    if isinstance(raw, str):
        text = raw.strip().strip("*_ ")
        match = _RATING_VALUE.match(text)
        if match:
            return _rating_from_match(match.group("value"), match.group("out_of"), scale_max)
        labelled = _LABELLED_VALUE.fullmatch(text)  # "Highly Compliant (4)"
        if labelled:
            return _rating_from_match(labelled.group("value"), None, scale_max)
    return None


_LABELLED_VALUE = re.compile(r"[A-Za-z][A-Za-z \-]{0,40}\([ \t]*+(?P<value>\d+)[ \t]*+\)")


# ------------------------------------------------------------------------------- sections

_LABEL = r"(?:response|output|answer|text|assistant|candidate|completion)"
# Runs of blanks are matched possessively (`*+`): what may follow a run never starts with a
# blank, and a pattern free to split a run between several `*` took hours on an answer cut
# off in the middle of a few thousand spaces.
_HEADER = re.compile(
    r"^[ \t]*+(?:#{1,6}[ \t]*+)?(?:[*_]{1,2}[ \t]*+)?(?:\[)?"
    rf"(?:{_LABEL}[ \t]*+(?:for[ \t]+{_LABEL}[ \t]*+)?#?[ \t]*+(?P<number>\d+)|(?P<listed>\d+)[.)])"
    r"(?:\])?[ \t]*+(?:[*_]{1,2})?[ \t]*+(?P<rest>(?:[:\-\u2013\u2014)(|].*)?)$",
    re.IGNORECASE | re.MULTILINE,
)
_RATING_VALUE = re.compile(
    r"(?P<value>N/?A|none|null|-?\d+(?:\.\d+)?)(?:[ \t]*+(?:/|out[ \t]+of)[ \t]*+(?P<out_of>\d+))?",
    re.IGNORECASE,
)
_RATING = re.compile(
    r"(?:rating|score|grade)[ \t]*+(?:[*_]{1,2})?[ \t]*+(?:[:=\-\u2013][ \t]*+)?"
    r"(?:[*_]{1,2})?[ \t]*+"
    # A label before the number in brackets: "Highly Compliant (4)", "Four (4)"; or the
    # number in brackets first: "(4) Highly Compliant".
    r"(?:[A-Za-z][A-Za-z \-]{0,40}?\((?=[ \t]*+\d+[ \t]*+\))|\((?=[ \t]*+\d+[ \t]*+\)))?"
    r"[ \t]*+\[?(?P<value>N/?A|none|null|-?\d+(?:\.\d+)?)\]?"
    r"(?:[ \t]*+(?:/|out[ \t]+of)[ \t]*+(?P<out_of>\d+))?",
    re.IGNORECASE,
)
_BARE_FRACTION = re.compile(r"(?<![\d/.\-])(?P<value>\d+)[ \t]*+/[ \t]*+(?P<out_of>\d+)\b")
_RATIONALE = re.compile(
    r"(?:[*_]{1,2})?[ \t]*+(?:rationale|explanation|reason(?:ing)?|justification)"
    r"[ \t]*+(?:[*_]{1,2})?[ \t]*+[:\-\u2013][ \t]*+(?:[*_]{1,2})?",
    re.IGNORECASE,
)
_CLOSING = re.compile(
    r"^[ \t]*+(?:#{1,6}[ \t]*+)?(?:[*_]{1,2})?[ \t]*+(?:overall|in summary|summary|in conclusion|"
    r"conclusion|final (?:ranking|thoughts|verdict)|ranking)\b|^[ \t]*+(?:---+|\*\*\*+)[ \t]*+$",
    re.IGNORECASE | re.MULTILINE,
)


def _from_sections(text: str, count: int, scale_max: int) -> dict[int, ReadRating]:
    headers = [m for m in _HEADER.finditer(text)]
    named = [m for m in headers if m.group("number")]
    # Numbered lists count as sections only when no response is named: rationales often
    # contain numbered lists of their own.
    chosen = named if named else [m for m in headers if m.group("listed")]
    # A heading whose section holds no rating is a line of the section before it (a
    # rationale line that starts "Response 2: ..."), once some section holds one.
    rated = [
        m for m, body in zip(chosen, _sections(text, chosen), strict=True) if _has_rating(body)
    ]
    if rated:
        chosen = rated
    # Two headings of one response: one that is only a heading (perhaps with its rating)
    # wins over a rationale line that starts like one ("Response 3: its Rating: 2 is ...");
    # two of a kind make that response's rating ambiguous.
    by_position: dict[int, list[re.Match[str]]] = {}
    for match in chosen:
        by_position.setdefault(_position_of(match), []).append(match)
    ambiguous: set[int] = set()
    for position, matches in by_position.items():
        if len(matches) > 1:
            plain = [m for m in matches if _plain_heading(m)]
            if len(plain) == 1:
                chosen = [m for m in chosen if m not in matches or m is plain[0]]
            else:
                ambiguous.add(position)
    found: dict[int, ReadRating] = {}
    bodies = _sections(text, chosen)
    for i, (match, body) in enumerate(zip(chosen, bodies, strict=True)):
        position = _position_of(match)
        if i + 1 == len(chosen):
            body = _without_closing(body)
        if not 1 <= position <= count or position in found:
            continue
        if position in ambiguous:
            found[position] = ReadRating(None, _clean(body))
            continue
        found[position] = _read_section(body, scale_max)
    return found


def _position_of(header: re.Match[str]) -> int:
    return int(header.group("number") or header.group("listed"))


def _plain_heading(header: re.Match[str]) -> bool:
    """The heading line holds nothing but the heading (and perhaps its rating)."""
    rest = header.group("rest").lstrip(":-\u2013\u2014|)( \t*_")
    if not rest:
        return True
    rating = _RATING.match(rest)
    return rating is not None and not rest[rating.end() :].strip(" \t*_)")


def _sections(text: str, headers: list[re.Match[str]]) -> list[str]:
    """What follows each header up to the next, its own line's rest first."""
    if not headers:
        return []
    ends = [h.start() for h in headers[1:]] + [len(text)]
    return [
        h.group("rest") + "\n" + text[h.end() : end] for h, end in zip(headers, ends, strict=True)
    ]


def _has_rating(body: str) -> bool:
    return bool(_RATING.search(body) or _BARE_FRACTION.search(body))


def _without_closing(body: str) -> str:
    """The last section without the judge's closing remarks: a paragraph that begins
    "Overall, ..." (or "In summary", ...) after a blank line, or a horizontal rule."""
    for closing in _CLOSING.finditer(body):
        start = closing.start()
        if closing.group(0).strip().startswith(("-", "*")) or _after_blank_line(body, start):
            return body[:start]
    return body


def _after_blank_line(text: str, start: int) -> bool:
    before = text[:start]
    return before.endswith("\n") and before[:-1].rstrip(" \t").endswith("\n")


def _rating_in(body: str) -> re.Match[str] | None:
    """The section's rating: a `Rating:` label that begins a line first (a rationale may
    mention "the score: 2 of an earlier attempt"), else the first label, else `N/5`."""
    first = None
    for match in _RATING.finditer(body):
        line_start = body.rfind("\n", 0, match.start()) + 1
        if not body[line_start : match.start()].strip(" \t*_-+>#|"):
            return match
        first = first or match
    return first or _BARE_FRACTION.search(body)


def _read_section(body: str, scale_max: int) -> ReadRating:
    rating_match = _rating_in(body)
    rating = (
        _rating_from_match(rating_match.group("value"), rating_match.group("out_of"), scale_max)
        if rating_match
        else None
    )
    na = rating_match is not None and _is_na(rating_match.group("value"))
    label = _RATIONALE.search(body)
    if label:
        rationale = body[label.end() :]
        if rating_match and rating_match.start() > label.end():  # rating written after it
            rationale = body[label.end() : rating_match.start()]
    else:
        rationale = body
        if rating_match:
            line_start = body.rfind("\n", 0, rating_match.start()) + 1
            line_end = body.find("\n", rating_match.end())
            line_end = len(body) if line_end < 0 else line_end
            rationale = body[:line_start] + body[line_end:]
    return ReadRating(rating, _clean(rationale), na)


def _rating_from_match(value: str, out_of: str | None, scale_max: int) -> int | None:
    if out_of is not None and int(out_of) != scale_max:
        return None
    try:
        number = float(value)
    except ValueError:
        return None  # N/A, none, null
    if not number.is_integer() or not 1 <= number <= scale_max:
        return None
    return int(number)


def _from_rating_sequence(text: str, count: int, scale_max: int) -> dict[int, ReadRating]:
    """No sections: exactly ``count`` "Rating: N" labels, taken in order."""
    matches = list(_RATING.finditer(text))
    if len(matches) != count:
        return {}
    found: dict[int, ReadRating] = {}
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < count else len(text)
        body = text[match.end() : end]
        if i + 1 == count:
            body = _without_closing(body)
        label = _RATIONALE.search(body)
        rationale = body[label.end() :] if label else body
        value = match.group("value")
        rating = _rating_from_match(value, match.group("out_of"), scale_max)
        found[i + 1] = ReadRating(rating, _clean(rationale), _is_na(value))
    return found


def _clean(text: str) -> str:
    text = text.strip().strip("*_").strip()
    return re.sub(r"\n{3,}", "\n\n", text)


# ---------------------------------------------------------------------- constrained output


def judgment_schema(count: int, max_tokens: int, scale_max: int = SCALE_MAX) -> dict[str, Any]:
    """The JSON schema a judge's answer is constrained to on engines that can: exactly
    ``count`` entries in order, each a rationale then a whole rating from an enum (engines
    do not enforce numeric ranges). Rationales are bounded so that the whole object fits in
    ``max_tokens`` even at one character a token (small models, when they degenerate, repeat
    one-character tokens): an answer cut short by the token limit would be unreadable."""
    per_entry_tokens = (max_tokens - 16) // max(count, 1) - 14
    rationale_chars = max(40, min(2000, per_entry_tokens))
    entry = _rated(rationale_chars, scale_max)
    return {
        "type": "object",
        "properties": {
            "ratings": {"type": "array", "items": entry, "minItems": count, "maxItems": count}
        },
        "required": ["ratings"],
        "additionalProperties": False,
    }


# ----------------------------------------------------------------------- single grades

GRADE_MAX = 10
_GRADE_LINE = re.compile(
    r"(?:rating|grade|score)\s*+[:=]?\s*+\**+\s*+\[*+\s*+(?P<value>\d{1,3})(?![.,]\d)(?:\s*+\]*+)\s*+"
    r"(?:(?:/|out of)\s*+(?P<out_of>\d+))?",
    re.IGNORECASE,
)
_BRACKETED = re.compile(r"\[\[\s*(?P<value>\d{1,2})\s*\]\](?P<out_of>)")


@dataclass(frozen=True)
class ReadGrade:
    rating: int | None
    rationale: str


def read_grade(text: str, scale_max: int = GRADE_MAX) -> ReadGrade:
    """Read one grade (1..``scale_max``) and its rationale from a grader's answer: a JSON
    object, a `Rating: N` or `Rating: N/10` line, an MT-Bench style `[[N]]`, or anything the
    multi-response reader takes. `0/10` and `85/100` are no grade; an answer that gives two
    different grades ("Rating: 9 ... Rating: 1 is the worst") is ambiguous, so no grade."""
    for candidate in _json_candidates(text):
        if isinstance(candidate, dict):
            raw = next((candidate[k] for k in _RATING_KEYS if k in candidate), None)
            rating = _rating(raw, scale_max)
            if rating is not None:
                why = next((candidate[k] for k in _RATIONALE_KEYS if k in candidate), "")
                return ReadGrade(rating, str(why or "").strip())
    # Every way a grade is written counts: two different ones make the answer ambiguous.
    matches = sorted(
        [
            *_GRADE_LINE.finditer(text),
            *_BRACKETED.finditer(text),
            *_BARE_FRACTION.finditer(text),
        ],
        key=lambda m: m.start(),
    )
    if matches:
        readable = {
            _rating_from_match(m.group("value"), m.group("out_of") or None, scale_max): m
            for m in matches
        }
        readable.pop(None, None)
        if len(readable) != 1:  # none readable, or two different grades
            return ReadGrade(None, text.strip())
        rating, last = next(iter(readable.items()))
        return ReadGrade(rating, text[: last.start()].strip().strip("*# \n").strip())
    read = read_judge_output(text, 1, scale_max).at(1)
    return ReadGrade(read.rating, read.rationale or text.strip())


def grade_schema(max_tokens: int, scale_max: int = GRADE_MAX) -> dict[str, Any]:
    """The JSON schema of one grade: a bounded rationale, then a rating from an enum."""
    return _rated(max(40, min(4000, max_tokens - 30)), scale_max)


def _rated(rationale_chars: int, scale_max: int) -> dict[str, Any]:
    """A rationale of at most ``rationale_chars``, then a whole rating from an enum."""
    return {
        "type": "object",
        "properties": {
            "rationale": {"type": "string", "maxLength": rationale_chars},
            "rating": {"type": "integer", "enum": list(range(1, scale_max + 1))},
        },
        "required": ["rationale", "rating"],
        "additionalProperties": False,
    }
