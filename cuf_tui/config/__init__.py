"""The workspace's `cuf.toml`: read with tomllib, validated with pydantic; errors name the key
(their sentences are in `messages`, TOML text for writing entries in `toml`)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cuf_tui.config.messages import a_type, key_of, message_of, shown
from cuf_tui.core.families import infer_family
from cuf_tui.errors import CufError

CONFIG_NAME = "cuf.toml"
DB_NAME = "cuf.db"
# What a workspace cannot lose: its settings, its store and the files SQLite keeps beside the
# store while it is open. No command writes over a file of these names, in any folder.
WORKSPACE_FILES = frozenset(
    {CONFIG_NAME, DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", f"{DB_NAME}-journal"}
)

Engine = Literal["vllm", "openai", "llamacpp"]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ConfigError(CufError):
    """`cuf.toml` cannot be read or does not validate; the message names the file and the key."""


class _Strict(BaseModel):
    # Strict types: "8" is not 8, true is not 1, 1 is not true, 4.5 is not an integer; an
    # integer is still a float (TOML's `temperature = 1`). No float may be inf or nan.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def _a_name(value: str) -> str:
    """A name or model id: one line of text, not blank, with no space at either end."""
    if not value.strip():
        raise ValueError("must not be blank")
    if value != value.strip():
        raise ValueError(f"must not begin or end with spaces ({shown(value)})")
    if not value.isprintable():
        raise ValueError(f"must be one line of printable text ({shown(value)})")
    return value


Name = Annotated[str, AfterValidator(_a_name)]


class Prices(_Strict):
    """US dollars per million tokens (no model costs thousands; a figure beyond is a typo)."""

    input: float = Field(default=0.0, ge=0, le=10_000)
    output: float = Field(default=0.0, ge=0, le=10_000)


class ServerSettings(_Strict):
    """How the workbench runs a model's own server (engine vllm or llamacpp, no base_url)."""

    # The program and its first arguments; the model and the flags follow. Default:
    # `vllm serve` for vllm, `<this python> -m llama_cpp.server` for llamacpp.
    command: list[str] | None = None
    env: dict[str, str] = Field(default_factory=dict)  # added to the server's environment
    startup_timeout: float = Field(default=1800.0, gt=0)  # seconds until healthy
    stop_grace: float = Field(default=30.0, ge=0)  # seconds between SIGTERM and SIGKILL
    port: int | None = Field(default=None, ge=1, le=65535)  # first replica; others count up

    @field_validator("command")
    @classmethod
    def _a_program(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value:
                raise ValueError("must not be empty; give the program and its first arguments")
            if not value[0].strip():
                raise ValueError("the program (the first item) must not be blank")
        return value

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _ENV_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not an environment variable name")
        return value


MANAGED_ENGINES = ("vllm", "llamacpp")


class ModelEntry(_Strict):
    """One model of the generation pool, or one judge: how to reach it and how to sample it.

    With engine vllm or llamacpp and no base_url, the workbench runs the model's server
    itself for the length of a batch (see cuf_tui.engines.managed)."""

    name: Name
    engine: Engine
    model: Name
    # One server, or several that share this model's requests (each gets max_concurrency).
    base_url: str | list[str] | None = None
    api_key_env: str | None = None
    max_concurrency: int = Field(default=16, ge=1, le=4096)
    temperature: float = Field(default=0.8, ge=0, le=2)
    # None: not sent (the server's default). Some endpoints refuse top_p beside temperature.
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int = Field(default=1024, ge=1)
    max_retries: int = Field(default=5, ge=0, le=50)  # transient failures (429, 5xx, drops)
    request_timeout: float = Field(default=600.0, gt=0)  # seconds, per attempt
    price_per_million_tokens: Prices = Prices()
    engine_args: dict[str, Any] = Field(default_factory=dict)  # the server's flags
    replicas: int = Field(default=1, ge=1, le=64)  # servers of this model, requests shared
    devices: list[list[int]] | None = None  # CUDA devices of each replica
    share_gpus: bool = False  # may run beside other models' servers
    server: ServerSettings = ServerSettings()
    # How a judge answers: auto is a JSON schema on local engines, text on APIs.
    judge_output: Literal["auto", "text", "json", "json_schema"] = "auto"
    # The model's family (gpt, claude, llama, ...), for self-preference; read from the model
    # id when absent (see core.families).
    family: Name | None = None
    # online: one request per unit as it goes; batch: units sent as OpenAI Batch API jobs
    # (files and batches endpoints), at the batch price, answered within 24 hours.
    mode: Literal["online", "batch"] = "online"
    # Batch mode's price; unset, half of price_per_million_tokens (the Batch API discount).
    batch_price_per_million_tokens: Prices | None = None
    # How a judge's repair request (its first answer could not be read) goes in batch mode:
    # online at once (one small request), or in a follow-up batch.
    batch_repair: Literal["online", "batch"] = "online"
    # The provider's limits on one batch: requests, and bytes of its input file.
    batch_max_requests: int = Field(default=50_000, ge=1, le=1_000_000)
    batch_max_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    batch_poll_interval: float = Field(default=30.0, gt=0, le=3600)  # seconds between checks

    @property
    def batch_prices(self) -> Prices:
        """What a token costs in batch mode: the entry's batch price, and half the online
        price for what it leaves out (input, output or both)."""
        online = self.price_per_million_tokens
        given = self.batch_price_per_million_tokens
        chosen = given.model_fields_set if given is not None else set()
        return Prices(
            input=given.input if given is not None and "input" in chosen else online.input / 2,
            output=given.output if given is not None and "output" in chosen else online.output / 2,
        )

    @property
    def prices(self) -> Prices:
        """What a token costs in this entry's mode."""
        return self.batch_prices if self.mode == "batch" else self.price_per_million_tokens

    @property
    def model_family(self) -> str | None:
        return self.family or infer_family(self.model) or infer_family(self.name)

    @property
    def managed(self) -> bool:
        """Whether the workbench starts and stops this model's server."""
        return self.engine in MANAGED_ENGINES and self.base_url is None

    @property
    def answer_format(self) -> Literal["text", "json", "json_schema"]:
        if self.judge_output != "auto":
            return self.judge_output
        return "json_schema" if self.engine in MANAGED_ENGINES else "text"

    @property
    def judge_prompt_format(self) -> Literal["sections", "json"]:
        """What the judge prompt asks for: sections of text, or the JSON object."""
        return "sections" if self.answer_format == "text" else "json"

    @model_validator(mode="after")
    def _server_keys_need_a_managed_engine(self) -> ModelEntry:
        if self.mode == "batch" and self.managed:
            raise ValueError(
                'mode = "batch" sends work to a provider\'s Batch API (a base_url, or engine '
                '"openai"); a server the workbench runs itself answers online only'
            )
        batch_keys = (
            ("batch_price_per_million_tokens", None),
            ("batch_repair", "online"),
            ("batch_max_requests", 50_000),
            ("batch_max_bytes", 200 * 1024 * 1024),
            ("batch_poll_interval", 30.0),
        )
        if self.mode != "batch":
            for key, default in batch_keys:
                if getattr(self, key) != default:
                    raise ValueError(f'{key} applies in batch mode (mode = "batch")')
        if not self.managed:
            for key, default in (("replicas", 1), ("devices", None), ("share_gpus", False)):
                if getattr(self, key) != default:
                    raise ValueError(
                        f"{key} applies to a server the workbench runs (engine vllm or "
                        f"llamacpp, no base_url)"
                    )
            if self.server != ServerSettings():
                raise ValueError(
                    "server applies to a server the workbench runs (engine vllm or llamacpp, "
                    "no base_url)"
                )
        if self.devices is not None:
            if len(self.devices) != self.replicas:
                raise ValueError(
                    f"devices lists {len(self.devices)} device sets for {self.replicas} "
                    f"replica(s); give one list of CUDA devices per replica"
                )
            for devices in self.devices:
                if not devices or any(d < 0 for d in devices):
                    raise ValueError("devices: each replica needs one or more device numbers")
        return self

    @field_validator("base_url", mode="before")
    @classmethod
    def _a_url_or_a_list_of_urls(cls, value: Any) -> Any:
        # One message for either shape, rather than pydantic's one per member of the union.
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, list):
            for item in value:
                if not isinstance(item, str):
                    raise ValueError(
                        "must be a URL or an array of URLs, not an array holding "
                        f"{a_type(item)} ({shown(item)})"
                    )
            return value
        raise ValueError(f"must be a URL or an array of URLs, not {a_type(value)} ({shown(value)})")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | list[str] | None) -> str | list[str] | None:
        urls = [value] if isinstance(value, str) else value or []
        if isinstance(value, list) and not value:
            raise ValueError("lists no server; give one URL or several")
        for url in urls:
            _check_url(url)
        if len(set(urls)) != len(urls):
            raise ValueError("lists a server twice")
        return value

    @property
    def base_urls(self) -> list[str | None]:
        """The servers of this model; [None] means the provider's default (OpenAI)."""
        if self.base_url is None:
            return [None]
        return [self.base_url] if isinstance(self.base_url, str) else list(self.base_url)

    @field_validator("api_key_env")
    @classmethod
    def _an_env_name_not_a_key(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not _ENV_NAME.fullmatch(value) or _looks_like_a_key(value):
            # Say nothing of the value: it may be a secret pasted in the wrong place.
            raise ValueError(
                "takes the name of an environment variable (e.g. OPENAI_API_KEY), never the "
                "key itself; remove the key from this file"
            )
        return value


def _check_url(url: str) -> None:
    """http:// or https://, a host, and optionally a port and a path; nothing else."""
    try:
        parts = urlsplit(url)
    except ValueError as err:  # e.g. an unclosed [ of an IPv6 address
        raise ValueError(f"{url!r} is not a URL ({err})") from None
    if "@" in parts.netloc:
        # Say nothing of the value: the part before @ may be a password.
        raise ValueError(
            "must not hold a user name or password (user@host); a key is read from the "
            "environment variable named in api_key_env"
        )
    if any(c.isspace() for c in url) or not url.isprintable():
        raise ValueError(f"{url!r} holds a space or a control character")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{url!r} must start with http:// or https://")
    if not parts.hostname:
        raise ValueError(f"{url!r} has no host; e.g. http://127.0.0.1:8000/v1")
    try:
        port = parts.port  # ValueError: not a number, or out of range
    except ValueError:
        port = 0
    if port == 0 or parts.netloc.endswith(":"):
        raise ValueError(f"{url!r}: the port must be a number from 1 to 65535")
    # Show no more than the host and path: a query may carry a key.
    shown = f"{parts.scheme}://{parts.netloc}{parts.path}"
    if parts.query or "?" in url:
        raise ValueError(f"{shown!r} has a query (?...); give the host, port and path only")
    if parts.fragment or "#" in url:
        raise ValueError(f"{shown!r} has a fragment (#...); give the host, port and path only")


def _looks_like_a_key(value: str) -> bool:
    if value.lower().startswith("sk_"):
        return True
    mixed = any(c.islower() for c in value) and any(c.isdigit() for c in value)
    return len(value) >= 24 and mixed


class WorkspaceSection(_Strict):
    name: Name = "workspace"
    seed: int = 42
    responses_per_instruction: int = Field(default=4, ge=1, le=64)


class BenchSection(_Strict):
    """How `cuf-tui bench` asks the model under test. The defaults are the paper's protocol:
    greedy decoding, up to 1,024 new tokens, the first principle of the item's preference
    before the instruction in the user message, no system prompt."""

    temperature: float = Field(default=0.0, ge=0, le=2)  # 0: greedy
    max_tokens: int = Field(default=1024, ge=1)
    principle: Literal["first", "random"] = "first"  # random: one drawn per item
    principle_in: Literal["user", "system"] = "user"  # system: in a system prompt

    @property
    def protocol(self) -> str:
        """The protocol's name, stored with each answer: `paper`, or the settings that
        differ from it."""
        paper = BenchSection()
        changed = [
            f"{name} {value}"
            for name, value in self.model_dump().items()
            if value != getattr(paper, name)
        ]
        return ", ".join(changed) if changed else "paper"


class Config(_Strict):
    workspace: WorkspaceSection = WorkspaceSection()
    bench: BenchSection = BenchSection()
    # TOML gives arrays as lists: the tuple takes one (strict=False here only; each entry
    # is still checked strictly by ModelEntry's own settings).
    models: tuple[ModelEntry, ...] = Field(default=(), strict=False)
    judges: tuple[ModelEntry, ...] = Field(default=(), strict=False)

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        for section in ("models", "judges"):
            names = [entry.name for entry in getattr(self, section)]
            for i, name in enumerate(names):
                if name in names[:i]:
                    raise ValueError(
                        f"{section}[{i}].name: {name!r} is used twice in [[{section}]]"
                    )
        return self

    @property
    def default_judge(self) -> ModelEntry | None:
        return self.judges[0] if self.judges else None

    def judge_named(self, name: str | None) -> ModelEntry:
        """The judge called ``name``, or the default judge when ``name`` is None."""
        if not self.judges:
            raise ConfigError(
                "no judge configured: add a [[judges]] entry to cuf.toml "
                '(name, engine, model; e.g. engine = "openai", model = "gpt-3.5-turbo")'
            )
        if name is None:
            return self.judges[0]
        for entry in self.judges:
            if entry.name == name:
                return entry
        known = ", ".join(e.name for e in self.judges)
        raise ConfigError(f"no judge named {name!r} in [[judges]] (configured: {known})")

    def family_of(self, model: str) -> str | None:
        """The family of a model as the store names it: its [[models]] (or [[judges]])
        entry's, else read from the name."""
        for entry in (*self.judges, *self.models):
            if entry.name == model:
                return entry.model_family
        return infer_family(model)

    def model_named(self, name: str) -> ModelEntry:
        for entry in self.models:
            if entry.name == name:
                return entry
        known = ", ".join(e.name for e in self.models) or "none"
        raise ConfigError(f"no model named {name!r} in [[models]] (configured: {known})")


def load_config(path: Path) -> Config:
    """Read and validate a `cuf.toml`; every error names the file and the key."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found (run `cuf-tui init` to make a workspace)") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text (byte {err.start})") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    return parse_config(data, path)


def parse_config(data: dict[str, Any], path: Path | str = CONFIG_NAME) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        problems = [
            f"{key_of(e['loc'])}: {message_of(e)}" if e["loc"] else message_of(e)
            for e in err.errors()
        ]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        detail = "\n  ".join(problems)
        raise ConfigError(
            f"{path}: {problems[0]}{more}" + (f"\n  {detail}" if more else "")
        ) from None
