"""A workspace is a folder with `cuf.toml` and `cuf.db`; this module finds, makes and opens one."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from cuf_tui.config import CONFIG_NAME, DB_NAME
from cuf_tui.errors import CufError

if TYPE_CHECKING:
    from cuf_tui.config import Config
    from cuf_tui.store.db import Store

HOME_ENV = "CUF_TUI_HOME"  # overrides where the per-user sample workspace lives
SAMPLE_FOLDER = "sample-workspace"
SAMPLE_SOURCES = ("codeultrafeedback.jsonl", "codal_bench.jsonl")
SAMPLE_GRADES = "codal_bench_graded.jsonl"  # two models' bench answers, graded

NEW_CONFIG = """\
# cuf-tui workspace settings. Every key is checked: a misspelt key is an error, not ignored.

[workspace]
name = "{name}"
seed = 42                          # drives every random choice (models, principles, shuffles)
responses_per_instruction = 4      # models sampled per instruction from the pool

# The generation pool: one [[models]] entry per model. Uncomment and edit.
#
# [[models]]
# name = "deepseek-coder-6.7b-instruct"        # the name stored with each response
# engine = "vllm"                              # vllm | openai | llamacpp
# model = "deepseek-ai/deepseek-coder-6.7b-instruct"
# max_concurrency = 64
# temperature = 0.8
# top_p = 0.8                                  # left out of requests when unset
# max_tokens = 1024
# engine_args = {{ tensor_parallel_size = 1, gpu_memory_utilization = 0.9 }}
# family = "deepseek"                          # for self-preference; read from `model` if unset
#
# [[models]]
# name = "gpt-3.5-turbo"
# engine = "openai"                            # any OpenAI-compatible endpoint
# model = "gpt-3.5-turbo"
# base_url = "https://api.openai.com/v1"
# api_key_env = "OPENAI_API_KEY"               # the variable's NAME; never put a key here
# price_per_million_tokens = {{ input = 0.5, output = 1.5 }}

# The judges: the first [[judges]] entry is the default judge. Same keys as [[models]].
# Several judges can judge side by side (`cuf-tui judge --all-judges`); a judge whose family
# (gpt, claude, llama, ...) wrote answers in the pool is warned of (`cuf-tui probe self`).
#
# [[judges]]
# name = "gpt-3.5-turbo"
# engine = "openai"
# model = "gpt-3.5-turbo"
# api_key_env = "OPENAI_API_KEY"
# temperature = 0.0
# price_per_million_tokens = {{ input = 0.5, output = 1.5 }}
# mode = "batch"                               # the Batch API: half price, answers within 24 h
#
# [[judges]]                                   # Claude, through Anthropic's OpenAI-compatible API
# name = "claude-3-haiku"
# engine = "openai"
# model = "claude-3-haiku-20240307"
# base_url = "https://api.anthropic.com/v1/"
# api_key_env = "ANTHROPIC_API_KEY"
# temperature = 0.0                            # 0 to 1 there; leave top_p unset beside it
# price_per_million_tokens = {{ input = 0.25, output = 1.25 }}

# How `cuf-tui bench` asks the model under test. The defaults are the paper's protocol;
# answers record the protocol they were made under, and reports show each apart.
#
# [bench]
# temperature = 0.0                            # greedy
# max_tokens = 1024
# principle = "first"                          # first | random (one drawn per item)
# principle_in = "user"                        # user (before the item) | system
"""


class WorkspaceError(CufError):
    """No usable workspace where one was asked for."""


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def db_path(self) -> Path:
        return self.root / DB_NAME

    @cached_property
    def config(self) -> Config:
        from cuf_tui.config import load_config

        return load_config(self.config_path)

    def open_store(self, busy_timeout_ms: int | None = None) -> Store:
        """The workspace's store (a write waits ``busy_timeout_ms`` for another program's lock,
        the store's default when None). A missing store is an error, never replaced by an empty one:
        beside a `cuf.toml` it means the data was moved or lost, and a silent fresh store would
        hide that (and let a batch start again from nothing)."""
        from cuf_tui.store.db import open_store

        if not self.db_path.exists():
            raise WorkspaceError(
                f"{self.db_path}: the store is missing; put it back (with {DB_NAME}-wal if "
                f"there was one), or run `cuf-tui init {self.root}` to start an empty one "
                f"({CONFIG_NAME} is kept)"
            )
        if self.db_path.is_file() and self.db_path.stat().st_size == 0:
            # SQLite would take an empty file for a new database; a store is never empty
            # (it holds its schema), so this one was cut off or lost.
            raise WorkspaceError(
                f"{self.db_path}: the store is an empty file (0 bytes); put the real one back, "
                f"or delete it and run `cuf-tui init {self.root}` to start an empty store "
                f"({CONFIG_NAME} is kept)"
            )
        if busy_timeout_ms is None:
            return open_store(self.db_path, create=False)
        return open_store(self.db_path, create=False, busy_timeout_ms=busy_timeout_ms)


def default_workspace_dir() -> Path:
    """Where the per-user sample workspace lives (``$CUF_TUI_HOME`` overrides it)."""
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser() / SAMPLE_FOLDER
    import platformdirs

    return Path(platformdirs.user_data_dir("cuf-tui", appauthor=False)) / SAMPLE_FOLDER


def resolve_workspace(explicit: Path | None, cwd: Path | None = None) -> Workspace:
    """The workspace a command works on: ``-w DIR``; else the current folder when it holds
    a `cuf.toml`; else the per-user sample workspace, made on first use."""
    root = workspace_root(explicit, cwd)
    if explicit is None and root == default_workspace_dir():
        return ensure_sample_workspace(root)
    if not _holds_config(root):
        what = "no such folder" if not root.exists() else f"no {CONFIG_NAME} there"
        raise WorkspaceError(
            f"{root}: not a workspace ({what}); make one with `cuf-tui init {root}`"
        )
    return Workspace(root.resolve())


def workspace_root(explicit: Path | None, cwd: Path | None = None) -> Path:
    """The folder of the workspace a command works on, found without making anything (so an
    error about its store can name it): see ``resolve_workspace``."""
    if explicit is not None:
        return explicit.expanduser()
    here = cwd or Path.cwd()
    return here if _holds_config(here) else default_workspace_dir()


def _holds_config(root: Path) -> bool:
    try:
        return (root / CONFIG_NAME).is_file()
    except PermissionError as err:  # a folder we may not search: say so, not "no cuf.toml"
        raise WorkspaceError(
            f"{root}: cannot look inside this folder ({err.strerror}); check its permissions"
        ) from None


def init_workspace(root: Path) -> Workspace:
    """A new workspace: a `cuf.toml` with commented examples, and an empty store. In a folder
    whose `cuf.toml` has lost its store (or was written by hand), only the empty store is
    made, and the settings are kept."""
    from cuf_tui.store.db import open_store

    root = root.expanduser()
    if (root / CONFIG_NAME).exists():
        if (root / DB_NAME).exists():
            raise WorkspaceError(
                f"{root}: already a workspace ({CONFIG_NAME} exists); left as it is"
            )
        open_store(root / DB_NAME).close()
        return Workspace(root.resolve())
    if root.exists() and not root.is_dir():
        raise WorkspaceError(f"{root}: exists and is not a folder")
    root.mkdir(parents=True, exist_ok=True)
    # cuf.toml holds the folder's name as the workspace's: one line of printable text.
    name = "".join(c for c in root.resolve().name if c.isprintable() and c not in '"\\')
    name = name.strip() or "workspace"
    (root / CONFIG_NAME).write_text(NEW_CONFIG.format(name=name), "utf-8")
    open_store(root / DB_NAME).close()
    return Workspace(root.resolve())


def ensure_sample_workspace(root: Path) -> Workspace:
    """The sample workspace at ``root``, built from the shipped `sample_data/` if missing.

    It is built in a temporary folder beside ``root`` and moved into place at the end, so an
    interrupted first run leaves nothing half-made.
    """
    if (root / CONFIG_NAME).is_file():
        return Workspace(root)
    from cuf_tui.interchange.bench_import import import_graded_answers
    from cuf_tui.interchange.importer import import_source
    from cuf_tui.resources import sample_data_dir
    from cuf_tui.store.db import open_store

    seed = sample_data_dir()
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        shutil.copyfile(seed / CONFIG_NAME, staging / CONFIG_NAME)
        with open_store(staging / DB_NAME) as store:
            for name in SAMPLE_SOURCES:
                import_source(store, str(seed / name), label=f"sample_data/{name}")
            import_graded_answers(
                store, str(seed / SAMPLE_GRADES), label=f"sample_data/{SAMPLE_GRADES}"
            )
            store.checkpoint()
        try:
            staging.rename(root)
        except OSError:
            if not (root / CONFIG_NAME).is_file():  # not a concurrent first run that won
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Workspace(root)
