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

    from cuf_tui.config.toml import toml_value

    value = {
        "path": 'C:\\models\\"smol"',
        "name": "é 模型",
        "flags": [True, False, 2, 0.5],
        "env": {"A": "1"},
    }
    assert tomllib.loads(f"x = {toml_value(value)}")["x"] == value


# ---------------------------------------------------------------- strict types and values

M0_LAST = "engine_args = { tensor_parallel_size = 2 }"  # the last line of models[0] (managed)
M1_LAST = 'base_url = "http://127.0.0.1:8000/v1"'  # a line of models[1] (openai, a server)
J0_NAME = '[[judges]]\nname = "gpt-3.5-turbo"'


def _after(line: str, added: str) -> tuple[str, str]:
    return (line, f"{line}\n{added}")


STRICT_CASES = [
    # No string-to-number coercion, no bool for a number, no float for an integer.
    (
        ("max_concurrency = 64", 'max_concurrency = "8"'),
        "models[0].max_concurrency",
        'must be an integer, not a string ("8")',
    ),
    (
        ("max_concurrency = 64", "max_concurrency = true"),
        "models[0].max_concurrency",
        "must be an integer, not a boolean (true)",
    ),
    (
        ("max_concurrency = 64", "max_concurrency = 8.0"),
        "models[0].max_concurrency",
        "must be an integer, not a float (8.0)",
    ),
    (
        ("max_tokens = 1024", "max_tokens = 1024.5"),
        "models[0].max_tokens",
        "must be an integer, not a float (1024.5)",
    ),
    (
        _after(M1_LAST, 'max_retries = "5"'),
        "models[1].max_retries",
        'must be an integer, not a string ("5")',
    ),
    (_after(M0_LAST, "replicas = 2.0"), "models[0].replicas", "must be an integer, not a float"),
    (("seed = 7", "seed = 4.5"), "workspace.seed", "must be an integer, not a float (4.5)"),
    (("seed = 7", 'seed = "7"'), "workspace.seed", 'must be an integer, not a string ("7")'),
    (("seed = 7", "seed = 1979-05-27"), "workspace.seed", "must be an integer, not a date"),
    (
        ("responses_per_instruction = 4", "responses_per_instruction = true"),
        "workspace.responses_per_instruction",
        "must be an integer, not a boolean (true)",
    ),
    (
        ("temperature = 0.8", "temperature = true"),
        "models[0].temperature",
        "must be a number, not a boolean (true)",
    ),
    (
        ("temperature = 0.8", 'temperature = "0.8"'),
        "models[0].temperature",
        'must be a number, not a string ("0.8")',
    ),
    (("top_p = 0.8", "top_p = false"), "models[0].top_p", "must be a number, not a boolean"),
    (
        ("output = 0.0", 'output = "1.5"'),
        "models[0].price_per_million_tokens.output",
        'must be a number, not a string ("1.5")',
    ),
    (  # a finite figure no model costs, which would make every total inf
        ("input = 0.0", "input = 1e308"),
        "models[0].price_per_million_tokens.input",
        "10000",
    ),
    (
        (
            "price_per_million_tokens = { input = 0.0, output = 0.0 }",
            "price_per_million_tokens = 3",
        ),
        "models[0].price_per_million_tokens",
        "must be a table, not an integer (3)",
    ),
    # No inf or nan for any float.
    (
        _after(M1_LAST, "request_timeout = inf"),
        "models[1].request_timeout",
        "must be a finite number, not inf",
    ),
    (
        _after(M1_LAST, "request_timeout = nan"),
        "models[1].request_timeout",
        "must be a finite number, not nan",
    ),
    (
        ("temperature = 0.8", "temperature = nan"),
        "models[0].temperature",
        "must be a finite number, not nan",
    ),
    (("top_p = 0.8", "top_p = -inf"), "models[0].top_p", "must be a finite number, not -inf"),
    (
        ("input = 0.0", "input = inf"),
        "models[0].price_per_million_tokens.input",
        "must be a finite number, not inf",
    ),
    (
        _after(M0_LAST, "server = { startup_timeout = inf }"),
        "models[0].server.startup_timeout",
        "must be a finite number, not inf",
    ),
    (
        _after(M0_LAST, "server = { stop_grace = nan }"),
        "models[0].server.stop_grace",
        "must be a finite number, not nan",
    ),
    # No number where a bool is meant, no bool where a string is meant.
    (
        _after(M0_LAST, "share_gpus = 1"),
        "models[0].share_gpus",
        "must be true or false, not an integer (1)",
    ),
    (
        _after(M0_LAST, 'share_gpus = "true"'),
        "models[0].share_gpus",
        'must be true or false, not a string ("true")',
    ),
    (
        _after(M0_LAST, "devices = [[0.0]]"),
        "models[0].devices[0][0]",
        "must be an integer, not a float (0.0)",
    ),
    (
        _after(M0_LAST, "devices = [[true]]"),
        "models[0].devices[0][0]",
        "must be an integer, not a boolean (true)",
    ),
    (
        _after(M0_LAST, "devices = [0]"),
        "models[0].devices[0]",
        "must be an array, not an integer (0)",
    ),
    (
        _after(M0_LAST, 'server = { port = "8000" }'),
        "models[0].server.port",
        'must be an integer, not a string ("8000")',
    ),
    (
        _after(M0_LAST, "server = { port = 8000.0 }"),
        "models[0].server.port",
        "must be an integer, not a float (8000.0)",
    ),
    (
        _after(M0_LAST, "server = { stop_grace = true }"),
        "models[0].server.stop_grace",
        "must be a number, not a boolean (true)",
    ),
    (
        _after(M0_LAST, "server = { env = { A = 1 } }"),
        "models[0].server.env.A",
        "must be a string, not an integer (1)",
    ),
    (
        _after(M0_LAST, "server = { env = { A = true } }"),
        "models[0].server.env.A",
        "must be a string, not a boolean (true)",
    ),
    (
        _after(M0_LAST, 'server = { command = "vllm serve" }'),
        "models[0].server.command",
        'must be an array, not a string ("vllm serve")',
    ),
    (
        _after(M0_LAST, "server = { command = [1] }"),
        "models[0].server.command[0]",
        "must be a string, not an integer (1)",
    ),
    (
        _after(M0_LAST, 'server = { command = ["  ", "serve"] }'),
        "models[0].server.command",
        "blank",
    ),
    (_after(M0_LAST, "server = { command = [] }"), "models[0].server.command", "empty"),
    ((M0_LAST, "engine_args = 2"), "models[0].engine_args", "must be a table, not an integer (2)"),
    (('name = "remote"', "name = 3"), "models[1].name", "must be a string, not an integer (3)"),
    (
        ('engine = "vllm"', "engine = 1"),
        "models[0].engine",
        "must be 'vllm', 'openai' or 'llamacpp', not an integer (1)",
    ),
    (_after(J0_NAME, "judge_output = true"), "judges[0].judge_output", "not a boolean (true)"),
    # No blank or space-padded names.
    (('name = "remote"', 'name = "  "'), "models[1].name", "must not be blank"),
    (('name = "remote"', 'name = ""'), "models[1].name", "must not be blank"),
    (
        ('name = "remote"', 'name = " remote"'),
        "models[1].name",
        'must not begin or end with spaces (" remote")',
    ),
    (('name = "remote"', 'name = "re\\nmote"'), "models[1].name", "one line"),
    (
        ('model = "gpt-3.5-turbo"', 'model = "gpt-3.5-turbo\\t"'),
        "models[1].model",
        "must not begin or end with spaces",
    ),
    ((J0_NAME, '[[judges]]\nname = "\\t"'), "judges[0].name", "must not be blank"),
    (('name = "demo"', 'name = ""'), "workspace.name", "must not be blank"),
    (('name = "demo"', 'name = "demo "'), "workspace.name", "must not begin or end with spaces"),
    # URLs: http(s), a host, optionally a port and a path.
    ((M1_LAST, 'base_url = "http://"'), "models[1].base_url", "no host"),
    ((M1_LAST, 'base_url = "https://:8000/v1"'), "models[1].base_url", "no host"),
    ((M1_LAST, 'base_url = "http:/127.0.0.1/v1"'), "models[1].base_url", "http://"),
    ((M1_LAST, 'base_url = "127.0.0.1:8000/v1"'), "models[1].base_url", "http://"),
    ((M1_LAST, 'base_url = "http://127.0.0.1:99999/v1"'), "models[1].base_url", "port"),
    ((M1_LAST, 'base_url = "http://127.0.0.1:port/v1"'), "models[1].base_url", "port"),
    ((M1_LAST, 'base_url = "http://127.0.0.1:8000/v1?x=1"'), "models[1].base_url", "query"),
    ((M1_LAST, 'base_url = "http://127.0.0.1:8000/v1#x"'), "models[1].base_url", "#"),
    ((M1_LAST, 'base_url = "http://my host/v1"'), "models[1].base_url", "space"),
    ((M1_LAST, 'base_url = " http://127.0.0.1:8000/v1"'), "models[1].base_url", "space"),
    ((M1_LAST, 'base_url = "http://[::1:8000/v1"'), "models[1].base_url", "not a URL"),
    (
        (M1_LAST, "base_url = 8000"),
        "models[1].base_url",
        "must be a URL or an array of URLs, not an integer (8000)",
    ),
    (
        (M1_LAST, 'base_url = ["http://a/v1", 3]'),
        "models[1].base_url",
        "must be a URL or an array of URLs",
    ),
    ((M1_LAST, 'base_url = ["http://a/v1", "http://"]'), "models[1].base_url", "no host"),
]


@pytest.mark.parametrize(("edit", "key", "why"), STRICT_CASES)
def test_wrong_types_and_values_are_refused_naming_the_key(
    tmp_path: Path, edit: tuple[str, str], key: str, why: str
) -> None:
    old, new = edit
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert why in message, message
    assert "\n" not in message, message  # one problem, one line
    assert "Input should" not in message and "type=" not in message, message


def test_a_string_for_an_integer_reads_as_the_issue_asks(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("max_concurrency = 64", 'max_concurrency = "8"'))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == (
        f'{path}: models[0].max_concurrency: must be an integer, not a string ("8")'
    )


@pytest.mark.parametrize(
    ("text", "key", "why"),
    [
        ('workspace = "demo"\n', "workspace", 'must be a table, not a string ("demo")'),
        ('[models]\nname = "m"\nengine = "openai"\nmodel = "m"\n', "models", "[[models]]"),
        ("judges = [1]\n", "judges[0]", "must be a table, not an integer (1)"),
        ('[[judges]]\nname = "j"\nmodel = "m"\n', "judges[0].engine", "missing"),
    ],
)
def test_sections_of_the_wrong_shape_are_refused(tmp_path: Path, text: str, key: str, why: str):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert why in message, message


def test_a_wrong_type_in_api_key_env_is_refused_without_echoing_it(tmp_path: Path) -> None:
    secret = ["sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"]
    path = write(
        tmp_path,
        VALID.replace('api_key_env = "OPENAI_API_KEY"', f'api_key_env = ["{secret[0]}"]', 1),
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(f"{path}: models[1].api_key_env: must be a string, not an array")
    assert secret[0] not in message


@pytest.mark.parametrize(
    "url",
    [
        "https://user:{secret}@api.example.com/v1",
        "https://api.example.com/v1?api_key={secret}",
        "https://api.example.com/v1#{secret}",
    ],
)
def test_a_key_in_a_url_is_refused_without_echoing_it(tmp_path: Path, url: str) -> None:
    secret = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
    path = write(tmp_path, VALID.replace(M1_LAST, f'base_url = "{url.format(secret=secret)}"'))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(f"{path}: models[1].base_url: "), message
    assert secret not in message


def test_numbers_stay_numbers_and_free_form_keys_stay_free(tmp_path: Path) -> None:
    """What strictness must not refuse: TOML integers where decimals are meant, the server's
    flags of any type, several servers, a port and a path in a URL."""
    text = VALID.replace("temperature = 0.8", "temperature = 1").replace("top_p = 0.8", "top_p = 1")
    text = text.replace("input = 0.0, output = 0.0", "input = 1, output = 2")
    text = text.replace(
        M0_LAST,
        "engine_args = { tensor_parallel_size = 2, enforce_eager = true, "
        'gpu_memory_utilization = 0.9, dtype = "float32", extra_args = ["--x", 1] }\n'
        "share_gpus = true\ndevices = [[0, 1]]\n"
        'server = { command = ["vllm", "serve"], env = { VLLM_LOGGING_LEVEL = "INFO" }, '
        "startup_timeout = 20, stop_grace = 0, port = 8100 }",
    )
    text = text.replace(
        M1_LAST,
        'base_url = ["http://127.0.0.1:8000/v1", "https://[::1]:8443", "http://gpu-box/v1/"]\n'
        "request_timeout = 3\nmax_retries = 0",
    )
    config = load_config(write(tmp_path, text))
    first, remote = config.models
    assert first.temperature == 1.0 and isinstance(first.temperature, float)
    assert first.top_p == 1.0 and isinstance(first.top_p, float)
    assert first.price_per_million_tokens.input == 1.0
    assert isinstance(first.price_per_million_tokens.output, float)
    assert first.engine_args["enforce_eager"] is True
    assert first.engine_args["extra_args"] == ["--x", 1]
    assert first.share_gpus is True and first.devices == [[0, 1]]
    assert first.server.startup_timeout == 20.0 and isinstance(first.server.startup_timeout, float)
    assert first.server.port == 8100
    assert remote.request_timeout == 3.0 and isinstance(remote.request_timeout, float)
    assert len(remote.base_urls) == 3


def test_the_cli_reports_a_wrong_type_on_one_line(cli, workspace: Path) -> None:
    (workspace / "cuf.toml").write_text(
        VALID.replace("temperature = 0.8", "temperature = true"), encoding="utf-8"
    )
    run = cli("summary", "-w", workspace)
    assert run.code == 1
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].endswith(
        "cuf.toml: models[0].temperature: must be a number, not a boolean (true)"
    ), run.err
