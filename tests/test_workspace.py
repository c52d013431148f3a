"""Workspaces: `init`, where a command looks for one, and the per-user sample workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cuf_tui.config import load_config
from cuf_tui.workspace import default_workspace_dir, resolve_workspace
from tests.conftest import query, read_jsonl


def test_init_writes_a_commented_config_and_an_empty_store(cli, tmp_path: Path) -> None:
    root = tmp_path / "project"
    run = cli("init", root)
    assert run.code == 0 and "Made a workspace" in run.out
    text = (root / "cuf.toml").read_text()
    assert "# [[models]]" in text and "# [[judges]]" in text and "api_key_env" in text
    config = load_config(root / "cuf.toml")
    assert config.models == () and config.judges == () and config.workspace.name == "project"
    assert query(root, "SELECT count(*) FROM instructions") == [(0,)]


def test_init_never_overwrites_a_workspace(cli, workspace: Path) -> None:
    (workspace / "cuf.toml").write_text('[workspace]\nname = "mine"\n')
    run = cli("init", workspace)
    assert run.code == 1 and "already a workspace" in run.err
    assert (workspace / "cuf.toml").read_text() == '[workspace]\nname = "mine"\n'


def test_an_empty_pool_says_how_to_add_models(cli, workspace: Path) -> None:
    run = cli("-w", workspace)
    assert run.code == 0
    assert "add [[models]] entries to cuf.toml" in run.out
    assert "add a [[judges]] entry to cuf.toml" in run.out


def test_resolution_prefers_the_flag_then_the_current_folder(workspace: Path, tmp_path) -> None:
    assert resolve_workspace(workspace).root == workspace.resolve()
    assert resolve_workspace(None, cwd=workspace).root == workspace.resolve()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert resolve_workspace(None, cwd=elsewhere).root == default_workspace_dir()


def test_the_sample_workspace_is_made_on_first_use(cli, private_home: Path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = cli()
    sample = private_home / "sample-workspace"
    assert run.code == 0, run.err
    assert str(sample) in run.out
    assert "30 instructions, 120 responses" in run.out
    assert "1 unparsed" in run.out and "10 CODAL-Bench items, 20 reference answers" in run.out
    assert query(sample, "SELECT DISTINCT source FROM instructions") == [
        ("sample_data/codeultrafeedback.jsonl",)
    ]
    assert [p.name for p in private_home.iterdir()] == ["sample-workspace"]
    # Used again, it is opened, not rebuilt.
    (sample / "marker").write_text("x")
    assert cli().code == 0 and (sample / "marker").exists()


def test_a_broken_config_is_reported_with_the_key(cli, workspace: Path) -> None:
    (workspace / "cuf.toml").write_text('[workspace]\nname = "x"\nseeed = 4\n')
    run = cli("-w", workspace)
    assert run.code == 1
    assert (
        run.err.strip()
        == f"cuf-tui: error: {workspace.resolve()}/cuf.toml: workspace.seeed: unknown key (a typo?)"
    )


def test_the_sample_data_is_what_a_newcomer_needs() -> None:
    from cuf_tui.resources import sample_data_dir

    rows = read_jsonl(sample_data_dir() / "codeultrafeedback.jsonl")
    assert len(rows) >= 30
    per_preference: dict[str, int] = {}
    languages: set[str] = set()
    for row in rows:
        per_preference[row["preference"]] = per_preference.get(row["preference"], 0) + 1
        assert len(row["responses"]) == 4 and len(row["annotations"]) == 4
        for response in row["responses"]:
            fence = response["response"].split("```")
            if len(fence) > 1:
                languages.add(fence[1].split("\n", 1)[0].strip())
    assert all(count >= 6 for count in per_preference.values()) and len(per_preference) == 5
    assert len(languages - {""}) >= 6
    ratings = [a["rating"] for row in rows for a in row["annotations"]]
    assert "N/A" in ratings and {"1", "2", "3", "4", "5"} <= set(ratings)
    unparsed = [
        r for r in rows if r["judge_output"] and all(a["rating"] == "N/A" for a in r["annotations"])
    ]
    assert len(unparsed) == 1
    bench = read_jsonl(sample_data_dir() / "codal_bench.jsonl")
    assert len(bench) >= 10
    assert all(row["gpt-3.5-turbo_response"] and row["gpt-4-turbo_response"] for row in bench)
    assert {row["preference"] for row in bench} == set(per_preference)
    json.dumps(rows)


@pytest.mark.parametrize("args", [["stats"], ["stats", "--json"]])
def test_stats_counts(cli, args: list[str], private_home: Path, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = cli(*args)
    assert run.code == 0, run.err
    if "--json" in args:
        stats = json.loads(run.out)
        assert stats["by_preference"]["style"]["instructions"] == 6
        assert stats["by_preference"]["style"]["done"] == 24
        assert stats["by_preference"]["style"]["unparsed"] == 1
        assert stats["by_judge"]["gpt-3.5-turbo"] == {
            "done": 29,
            "unparsed": 1,
            "failed": 0,
            "no_rating": 3,
            "mean_rating": pytest.approx(stats["by_judge"]["gpt-3.5-turbo"]["mean_rating"]),
        }
        assert sum(m["done"] for m in stats["by_model"].values()) == 120
        assert stats["bench_items"] == {p: 2 for p in stats["bench_items"]}
    else:
        assert "Instructions by preference" in run.out and "Responses by model" in run.out
        assert "gpt-3.5-turbo" in run.out and "CODAL-Bench items" in run.out


def test_every_way_of_naming_the_workspace(cli, workspace: Path) -> None:
    for args in (
        ["-w", workspace, "stats"],
        ["stats", "-w", workspace],
        [workspace],
        ["-w", workspace],
        ["--workspace", workspace, "stats", "--json"],
    ):
        run = cli(*args)
        assert run.code == 0, (args, run.err)
        assert "sample-workspace" not in run.out, args
    run = cli(workspace, "stats")
    assert run.code == 2 and f"use `cuf-tui stats -w {workspace} ...`" in run.err


def test_version_and_help(cli, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli("--help")
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in ("init", "import", "export", "stats"):
        assert command in out


def test_the_commented_examples_of_a_new_config_are_valid_entries(cli, server, tmp_path) -> None:
    """Each commented [[judges]] and [bench] block of `cuf-tui init`'s config, uncommented, is
    a working entry: the Claude judge sends nothing that endpoint refuses."""
    import json
    import tomllib

    from cuf_tui.config import parse_config
    from tests.batch_helpers import KEY_ENV, make_workspace

    root = tmp_path / "ws"
    assert cli("init", root).code == 0
    lines = (root / "cuf.toml").read_text().splitlines()

    def uncommented(header: str) -> str:
        first = next(i for i, line in enumerate(lines) if line.startswith(f"# {header}"))
        block = []
        for line in lines[first:]:
            if not line.startswith("# "):
                break
            block.append(line[2:])
        return "\n".join(block)

    claude = uncommented("[[judges]]                                   # Claude")
    entry = parse_config(tomllib.loads(claude)).judges[0]
    assert entry.base_url == "https://api.anthropic.com/v1/"
    assert entry.api_key_env == "ANTHROPIC_API_KEY" and entry.top_p is None
    assert parse_config(tomllib.loads(uncommented("[bench]"))).bench.protocol == "paper"

    # The same entry, pointed at the loopback server: its requests carry no top_p.
    local = claude.replace("https://api.anthropic.com/v1/", server.base_url).replace(
        "ANTHROPIC_API_KEY", KEY_ENV
    )
    ws = make_workspace(tmp_path / "judging", server.base_url, ["alpha", "beta"], [])
    (ws / "cuf.toml").write_text((ws / "cuf.toml").read_text() + "\n" + local + "\n")
    assert cli("generate", "-w", ws).code == 0
    run = cli("judge", "--judge", "claude-3-haiku", "-w", ws)
    assert run.code in (0, 1), run.err  # a judge that is not the loopback's style may be unread
    sent = [r.body for r in server.requests if r.model == "claude-3-haiku-20240307"]
    assert sent and all("top_p" not in body and body["temperature"] == 0.0 for body in sent)
    assert all(set(body) <= {"model", "messages", "temperature", "max_tokens"} for body in sent), (
        json.dumps(sent[0])[:300]
    )
