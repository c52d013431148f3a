"""`cuf-tui demo-model`: how it edits a workspace's cuf.toml (the engine build itself runs in
test_vllm_cpu.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cuf_tui.config import load_config
from cuf_tui.demo.entries import add_to_workspace
from cuf_tui.demo.model import DEMO_NAME, DemoModel
from cuf_tui.workspace import Workspace, ensure_sample_workspace, init_workspace


@pytest.fixture
def demo(tmp_path: Path) -> DemoModel:
    vllm = tmp_path / "engine" / "bin" / "vllm"
    vllm.parent.mkdir(parents=True)
    vllm.write_text("#!/bin/sh\n")
    vllm.chmod(0o755)
    return DemoModel("vllm", [str(vllm), "serve"], tmp_path / "models" / "SmolLM2-135M-Instruct")


def test_the_sample_workspace_gets_the_model_and_it_becomes_the_default_judge(
    tmp_path, demo, monkeypatch
):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    ws = ensure_sample_workspace(tmp_path / "sample")
    before = ws.config_path.read_text()
    said = add_to_workspace(ws, demo)
    assert said == [
        f"added {DEMO_NAME} to the pool ([[models]])",
        f"made {DEMO_NAME} the default judge (first in [[judges]])",
    ]
    config = load_config(ws.config_path)
    assert config.models[-1].name == DEMO_NAME and config.models[-1].managed
    assert [j.name for j in config.judges] == [DEMO_NAME, "gpt-3.5-turbo"]
    judge = config.judges[0]
    assert judge.model == str(demo.model) and judge.server.command == demo.command
    assert judge.answer_format == "json_schema" and judge.temperature == 0.0
    assert judge.server.env["VLLM_CPU_KVCACHE_SPACE"] == "1"
    # Nothing of the user's file is lost: every line of it is still there, in order.
    after = ws.config_path.read_text().splitlines()
    kept = iter(after)
    assert all(line in kept for line in before.splitlines())
    # Running it again changes nothing.
    again = add_to_workspace(Workspace(ws.root), demo)
    assert again == [
        f"{DEMO_NAME} is already in the pool ([[models]])",
        f"{DEMO_NAME} is already a judge ([[judges]])",
    ]
    assert ws.config_path.read_text().splitlines() == after


def test_a_judge_that_can_run_stays_the_default(tmp_path, demo, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-0000000000")
    ws = ensure_sample_workspace(tmp_path / "sample")
    said = add_to_workspace(ws, demo)
    assert said[1] == "kept the judges that can run here (gpt-3.5-turbo)"
    assert [j.name for j in load_config(ws.config_path).judges] == ["gpt-3.5-turbo"]


def test_a_new_workspace_gets_both_entries(tmp_path, demo, cli):
    ws = init_workspace(tmp_path / "new")
    add_to_workspace(ws, demo)
    config = load_config(ws.config_path)
    assert [m.name for m in config.models] == [DEMO_NAME]
    assert [j.name for j in config.judges] == [DEMO_NAME]
    dry = cli("generate", "--dry-run", "-w", ws.root)
    assert dry.code == 0, dry.err


def test_a_bad_workspace_is_refused_before_anything_is_built(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("CUF_TUI_CACHE", str(tmp_path / "cache"))
    run = cli("demo-model", "-w", tmp_path / "nowhere")
    assert run.code != 0 and "nowhere" in run.err
    assert not (tmp_path / "cache").exists()


def test_the_llamacpp_demo_entry_serves_the_gguf_file(tmp_path, demo):
    python = demo.command[0]
    gguf = tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"
    llama = DemoModel("llamacpp", [python, "-m", "llama_cpp.server"], gguf)
    ws = init_workspace(tmp_path / "new")
    add_to_workspace(ws, demo)
    said = add_to_workspace(Workspace(ws.root), llama)
    assert said == [
        "added smollm2-135m-gguf to the pool ([[models]])",
        "kept the judges that can run here (smollm2-135m)",
    ]
    entry = load_config(ws.config_path).model_named("smollm2-135m-gguf")
    assert entry.engine == "llamacpp" and entry.managed and entry.model == str(gguf)
    assert entry.engine_args == {"n_ctx": 8192} and entry.answer_format == "json_schema"
