"""`cuf.toml` validation: every error names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from cuf_tui.config import ConfigError, load_config
from cuf_tui.resources import sample_data_dir

VALID = """
[workspace]
name = "demo"
seed = 7
responses_per_instruction = 4

[[models]]
name = "deepseek-coder-6.7b-instruct"
engine = "vllm"
model = "deepseek-ai/deepseek-coder-6.7b-instruct"
max_concurrency = 64
temperature = 0.8
top_p = 0.8
max_tokens = 1024
price_per_million_tokens = { input = 0.0, output = 0.0 }
engine_args = { tensor_parallel_size = 2 }

[[models]]
name = "remote"
engine = "openai"
model = "gpt-3.5-turbo"
base_url = "http://127.0.0.1:8000/v1"
api_key_env = "OPENAI_API_KEY"

[[judges]]
name = "gpt-3.5-turbo"
engine = "openai"
model = "gpt-3.5-turbo"
api_key_env = "OPENAI_API_KEY"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cuf.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_config_validates(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID))
    assert config.workspace.seed == 7
    assert [m.name for m in config.models] == ["deepseek-coder-6.7b-instruct", "remote"]
    assert config.models[0].engine_args == {"tensor_parallel_size": 2}
    assert config.default_judge is not None and config.default_judge.name == "gpt-3.5-turbo"


def test_the_shipped_sample_config_validates() -> None:
    config = load_config(sample_data_dir() / "cuf.toml")
    assert config.models and config.judges
    assert all(m.api_key_env in (None, "OPENAI_API_KEY") for m in (*config.models, *config.judges))


@pytest.mark.parametrize(
    ("edit", "key", "why"),
    [
        (
            ("max_concurrency = 64", "max_concurency = 64"),
            "models[0].max_concurency",
            "unknown key",
        ),
        (('engine = "vllm"', 'engine = "tgi"'), "models[0].engine", "'vllm'"),
        (("temperature = 0.8", "temperature = 'hot'"), "models[0].temperature", "number"),
        (("seed = 7", "seed = 7\nsede = 1"), "workspace.sede", "unknown key"),
        (("top_p = 0.8", "top_p = 1.5"), "models[0].top_p", "1"),
        (('base_url = "http://', 'base_url = "ftp://'), "models[1].base_url", "http://"),
        (("input = 0.0", "input = -1.0"), "models[0].price_per_million_tokens.input", "0"),
        (('name = "remote"', 'name = "deepseek-coder-6.7b-instruct"'), "models[1].name", "twice"),
        (("[[judges]]", "[[judge]]"), "judge", "unknown key"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path: Path, edit, key: str, why: str) -> None:
    old, new = edit
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(f"{path}: {key}:")
    assert why in message


def test_a_key_pasted_into_api_key_env_is_refused_and_not_echoed(tmp_path: Path) -> None:
    secret = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
    path = write(
        tmp_path, VALID.replace('api_key_env = "OPENAI_API_KEY"', f'api_key_env = "{secret}"', 1)
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "models[1].api_key_env" in str(err.value)
    assert secret not in str(err.value)


def test_toml_syntax_errors_say_where(tmp_path: Path) -> None:
    path = write(tmp_path, '[workspace]\nname = "x\nseed = 1\n')
    with pytest.raises(ConfigError, match=r"cuf.toml: not valid TOML: .*line 2"):
        load_config(path)


def test_a_missing_config_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cuf-tui init"):
        load_config(tmp_path / "cuf.toml")


def test_toml_value_round_trips_through_tomllib():
    import tomllib

    from cuf_tui.config import toml_value

    value = {
        "path": 'C:\\models\\"smol"',
        "name": "é 模型",
        "flags": [True, False, 2, 0.5],
        "env": {"A": "1"},
    }
    assert tomllib.loads(f"x = {toml_value(value)}")["x"] == value
