"""`cuf-tui demo-model`'s changes to a workspace: the demo model's [[models]] entry, and its
[[judges]] entry when no configured judge can run; the edited cuf.toml is checked before it
replaces the old one."""

from __future__ import annotations

import os
from pathlib import Path

from cuf_tui.config import CONFIG_NAME, ConfigError, load_config
from cuf_tui.config.toml import toml_value
from cuf_tui.demo.model import DemoError, DemoModel
from cuf_tui.errors import CufError
from cuf_tui.workspace import Workspace


def entry_text(section: str, demo: DemoModel, judge: bool) -> str:
    """The [[models]] or [[judges]] entry of the demo model, as cuf.toml text."""
    sampling = (
        "temperature = 0.0\nmax_tokens = 1024\n"
        if judge
        else "temperature = 0.7\ntop_p = 0.9\nmax_tokens = 256\n"
    )
    command = toml_value(demo.command)
    if demo.engine == "llamacpp":
        return (
            "# SmolLM2-135M-Instruct on the CPU, added by `cuf-tui demo-model --engine llamacpp`:\n"
            "# llama-cpp-python's server on the GGUF file, started by the workbench for each\n"
            "# batch. Its answers are poor; the machinery is real.\n"
            f"[[{section}]]\n"
            f'name = "{demo.name}"\n'
            'engine = "llamacpp"\n'
            f"model = {toml_value(str(demo.model))}\n"
            "max_concurrency = 4  # llama.cpp decodes one request at a time; the rest queue\n"
            f"{sampling}"
            "engine_args = { n_ctx = 8192 }\n"
            f"[{section}.server]\n"
            f"command = {command}\n"
            "startup_timeout = 300\n"
        )
    return (
        "# SmolLM2-135M-Instruct on the CPU, added by `cuf-tui demo-model`: a CPU build of vLLM\n"
        "# that the workbench starts for each batch. Its answers are poor; the machinery is real.\n"
        f"[[{section}]]\n"
        f'name = "{demo.name}"\n'
        'engine = "vllm"\n'
        f"model = {toml_value(str(demo.model))}\n"
        "max_concurrency = 16\n"
        f"{sampling}"
        'engine_args = { dtype = "float32", enforce_eager = true, max_model_len = 8192 }\n'
        f"[{section}.server]\n"
        f"command = {command}\n"
        "startup_timeout = 900\n"
        f"[{section}.server.env]\n"
        'VLLM_CPU_KVCACHE_SPACE = "1"  # GiB of KV cache\n'
        'VLLM_TARGET_DEVICE = "cpu"\n'
        'HF_HUB_OFFLINE = "1"  # everything is on disk; never ask the Hub\n'
    )


def add_to_workspace(workspace: Workspace, demo: DemoModel) -> list[str]:
    """Add the demo model to the pool, and as the default judge when no judge can run.
    The file is checked before it is replaced; what was done is returned in words."""
    from cuf_tui.engines.openai_client import check_endpoint

    path = workspace.root / CONFIG_NAME
    config = workspace.config
    text = path.read_text(encoding="utf-8")
    done: list[str] = []
    name = demo.name
    if any(entry.name == name for entry in config.models):
        done.append(f"{name} is already in the pool ([[models]])")
    else:
        text = text.rstrip("\n") + "\n\n" + entry_text("models", demo, judge=False)
        done.append(f"added {name} to the pool ([[models]])")
    runnable = []
    for judge in config.judges:
        try:
            check_endpoint(judge)
        except CufError:
            continue
        runnable.append(judge.name)
    if any(judge.name == name for judge in config.judges):
        done.append(f"{name} is already a judge ([[judges]])")
    elif runnable:
        done.append(f"kept the judges that can run here ({', '.join(runnable)})")
    else:
        text = _insert_first_judge(text, entry_text("judges", demo, judge=True))
        done.append(f"made {name} the default judge (first in [[judges]])")
    if text != path.read_text(encoding="utf-8"):
        _replace_checked(path, text)
    return done


def _insert_first_judge(text: str, entry: str) -> str:
    """Put ``entry`` before the first [[judges]] table, so that it is the default judge."""
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.strip().replace(" ", "") == "[[judges]]":
            # Keep the comment block that introduces the first judge above the new entry.
            while index > 0 and lines[index - 1].lstrip().startswith("#"):
                index -= 1
            return "".join(lines[:index]) + entry + "\n" + "".join(lines[index:])
    return text.rstrip("\n") + "\n\n" + entry


def _replace_checked(path: Path, text: str) -> None:
    staged = path.with_name(path.name + ".new")
    staged.write_text(text, encoding="utf-8")
    try:
        load_config(staged)
    except ConfigError as err:
        staged.unlink()
        raise DemoError(
            f"the edited {path.name} would not validate, left as it was: {err}"
        ) from None
    os.replace(staged, path)
