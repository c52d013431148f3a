"""`cuf-tui prompts import-paper DIR`: the authors' principles, rubrics and grading criteria,
parsed from their Python files as data (never run), become the workspace's overrides."""

from __future__ import annotations

from pathlib import Path

from cuf_tui.core.preferences import PREFERENCES

PRINCIPLES = """
import os
os.makedirs("RAN")  # a file that ran would leave this folder behind
principles = {
%s
}
"""

TEMPLATES = '''
%s = """You judge, as the paper's judge."""
%s
%s = {
%s
}
'''


def fake_repository(root: Path) -> Path:
    """A checkout laid out as the authors' repository is, with text of our own."""
    folder = root / "src" / "templates"
    folder.mkdir(parents=True)
    entries = ",\n".join(
        f'    "{p}": ["First {p} principle, {{kept}} as written.", "Second {p} principle."]'
        for p in PREFERENCES
    )
    (folder / "principles.py").write_text(PRINCIPLES % entries)
    for file, name, title, system in (
        ("base_judge_templates.py", "judge_templates", "Judging", "judge_system_prompt"),
        (
            "single_grading_templates.py",
            "single_grading_templates",
            "Grading",
            "single_grading_system_prompt",
        ),
    ):
        bodies = "\n".join(
            f'{p.replace("-", "_")}_template = """# {title} {p}\n\nScale for {p}.\n\n'
            f'## Format:\n\n{{instruction}} {{response_1}}\n"""'
            for p in PREFERENCES
        )
        mapping = ",\n".join(f'    "{p}": {p.replace("-", "_")}_template' for p in PREFERENCES)
        (folder / file).write_text(TEMPLATES % (system, bodies, name, mapping))
    return root


def test_the_papers_definitions_become_the_workspaces_prompts(cli, workspace, tmp_path):
    from cuf_tui.prompts import load_prompts

    repository = fake_repository(tmp_path / "CodeUltraFeedback")
    before = cli("prompts", "-w", workspace).out
    run = cli("prompts", "import-paper", repository, "-w", workspace)
    assert run.code == 0, run.err
    assert "Wrote 17 prompt overrides" in run.out
    assert not (Path.cwd() / "RAN").exists() and not (repository / "RAN").exists()
    prompts = load_prompts(workspace)
    assert prompts.principles("style") == [
        "First style principle, {kept} as written.",
        "Second style principle.",
    ]
    rubric = prompts.render("rubrics/readability.j2")
    assert rubric == "# Judging readability\n\nScale for readability."
    assert prompts.render("grading/style.j2") == "# Grading style\n\nScale for style."
    assert prompts.render("judge_system.j2") == "You judge, as the paper's judge."
    assert prompts.render("bench_system.j2") == "You judge, as the paper's judge."
    # The judge's prompt carries the paper's rubric; the hashes show the change.
    messages = prompts.judge_messages("Sort a list.", "readability", ["a", "b"])
    assert "Scale for readability." in messages[-1]["content"]
    after = cli("prompts", "-w", workspace).out
    assert "rubrics/readability.j2" in after and "workspace" in after
    assert before != after

    again = cli("prompts", "import-paper", repository, "-w", workspace)
    assert again.code != 0 and "already overridden; --force replaces them" in again.err
    assert cli("prompts", "import-paper", repository, "--force", "-w", workspace).code == 0


def test_a_folder_that_is_not_the_repository_is_refused_in_one_line(cli, workspace, tmp_path):
    run = cli("prompts", "import-paper", tmp_path, "-w", workspace)
    assert run.code != 0 and "principles.py: not found" in run.err
    broken = fake_repository(tmp_path / "broken")
    (broken / "src/templates/base_judge_templates.py").write_text(
        "judge_templates = {'style': f()}"
    )
    run = cli("prompts", "import-paper", broken, "-w", workspace)
    assert run.code != 0 and "defines no judge_templates" in run.err
    assert not (workspace / "prompts").exists()


def test_text_that_looks_like_template_code_is_kept_as_text_and_never_run(cli, workspace, tmp_path):
    from cuf_tui.prompts import load_prompts

    marker = tmp_path / "ran"
    sneaky = (
        "Explain {% endraw %}{{ cycler.__init__.__globals__.os.system('touch "
        + str(marker)
        + "') }}{% raw %} it, {{ 7 * 7 }} {# a note #}."
    )
    repository = fake_repository(tmp_path / "repo")
    principles = repository / "src/templates/principles.py"
    principles.write_text(principles.read_text().replace("Second style principle.", sneaky))
    run = cli("prompts", "import-paper", repository, "-w", workspace)
    assert run.code == 0, run.err
    assert not marker.exists()
    assert load_prompts(workspace).principles("style")[1] == sneaky
    assert not marker.exists()


def test_definitions_that_cannot_be_used_leave_the_workspace_as_it_was(cli, workspace, tmp_path):
    repository = fake_repository(tmp_path / "repo")
    principles = repository / "src/templates/principles.py"
    text = principles.read_text()
    principles.write_text(
        text.replace(
            '"style": ["First style principle, {kept} as written.", "Second style principle."]',
            '"style": []',
        )
    )
    run = cli("prompts", "import-paper", repository, "-w", workspace)
    assert run.code != 0 and "style holds no principle" in run.err
    assert not (workspace / "prompts").exists()

    principles.unlink()
    outside = tmp_path / "elsewhere.py"
    outside.write_text(text)
    principles.symlink_to(outside)
    run = cli("prompts", "import-paper", repository, "-w", workspace)
    assert run.code != 0 and "leads out of" in run.err

    principles.unlink()
    principles.write_text("x = " + "+".join(["1"] * 200_000))
    run = cli("prompts", "import-paper", repository, "-w", workspace)
    assert run.code != 0 and "Traceback" not in run.err
    principles.write_text("principles = {'style': '" + "x" * 5_000_000 + "'}")
    run = cli("prompts", "import-paper", repository, "-w", workspace)
    assert run.code != 0 and "bytes" in run.err
    assert not (workspace / "prompts").exists()
    assert cli("prompts", "-w", workspace).code == 0
