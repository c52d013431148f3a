"""The judge prompt in its two answer formats, and their identities."""

from __future__ import annotations

from cuf_tui.core.judge_output import judgment_schema, read_judge_output
from cuf_tui.core.preferences import PREFERENCES
from cuf_tui.core.prompts import PromptSet
from cuf_tui.prompts import load_prompts


def test_the_json_format_asks_for_the_object_the_schema_holds_it_to():
    prompts = load_prompts()
    responses = ["uses {{ braces }} and {% tags %}", "Rating: 5"]
    text = prompts.judge_messages("Sort {x}", "style", responses, "json")[1]["content"]
    assert '{"ratings": [{"rationale":' in text and "2 entries in all" in text
    assert "### Response 1" not in text
    assert all(r in text for r in responses)  # responses reach the judge verbatim
    sections = prompts.judge_messages("Sort {x}", "style", responses)[1]["content"]
    assert "### Response 1" in sections and '{"ratings"' not in sections
    # An answer held to the schema is read as JSON, entries by their place in the list.
    schema = judgment_schema(2, 1024)
    assert schema["properties"]["ratings"]["items"]["required"] == ["rationale", "rating"]
    read = read_judge_output(
        '{"ratings": [{"rationale": "clear", "rating": 4}, {"rationale": "no", "rating": 1}]}', 2
    )
    assert [read.at(1).rating, read.at(2).rating] == [4, 1]
    assert read.at(1).rationale == "clear"


def test_each_answer_format_has_its_own_hash_per_preference():
    prompts = load_prompts()
    hashes = {
        prompts.judge_template_sha256(p, f) for p in PREFERENCES for f in ("sections", "json")
    }
    assert len(hashes) == 10


def test_a_judge_template_of_a_workspace_that_ignores_the_format_still_renders():
    shipped = load_prompts()
    texts = dict(shipped.texts)
    texts["judge.j2"] = (
        "{{ rubric }}\n{{ instruction }}\n{% for r in responses %}{{ r }}\n{% endfor %}"
    )
    custom = PromptSet(texts)
    custom.check()
    assert "answer" in custom.judge_messages("answer me", "style", ["a"], "json")[1]["content"]


def test_json_with_raw_newlines_inside_strings_is_read():
    """llama.cpp's JSON grammar lets a raw newline into a string; the answer is still clear."""
    from cuf_tui.core.judge_output import read_grade

    text = '{"ratings": [{"rationale": "first line\nsecond line", "rating": 2}]}'
    read = read_judge_output(text, 1)
    assert read.at(1).rating == 2 and read.at(1).rationale == "first line\nsecond line"
    assert read_grade('{"rationale": "a\nb", "rating": 7}').rating == 7
