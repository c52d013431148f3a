"""A fault-injecting OpenAI-compatible server on 127.0.0.1: a real HTTP/1.1 server (asyncio,
keep-alive) that answers `POST /v1/chat/completions` as a code model or as a judge.

Behaviour is chosen by words in the requested model name:
- faults, on the first attempts of each distinct request: `flaky429` (two 429s with
  Retry-After), `flaky500` (a 500 then a 503), `drop` (connection closed without a reply),
  `trunc` (a body cut short), `garbagebody` (a 200 that is not JSON), `slow` (a reply slower
  than any sane timeout); on every attempt: `always500`, `bad400` (context too long),
  `leaky` (a 401 whose message repeats the API key, as some servers do), `leakypart` (a 401
  that shows the key masked but for its prefix and last four characters, as OpenAI does),
  `leakytail` (a 400 that names the key's last six characters), `echokey` (an answer that
  repeats the key it was sent).
- bad replies, on every attempt: `surrogate` (an answer ending in half an emoji, a lone
  surrogate escape), `nomessage` (a 200 whose choices[0] has no message), `cutoff` (an answer
  cut off at max_tokens: finish_reason "length"), `trickle` (headers, then the body one byte
  a second), `absurdusage` (usage counts that are negative and huge), `surrogate400` (a 400
  whose message holds a lone surrogate), `error200` (a 200 whose body is an error object).
- judges (`judge-<style>`): answer in a style judges really use: markdown, json, fenced,
  paper, reordered, numbered, inline, outofrange, garbage (unreadable, then JSON when asked
  to repair), garbagealways, varied (a grader whose grades vary by answer: 1-10, unreadable
  or failing with a 500, see `varied_grade`); and biased judges: `firstplus`, `longer`,
  `favours-<family>` (see `_shown_ratings`).
A generated answer ends with `-- answered by <model>`; a judge rates each response it is
shown by the model that wrote it (RATINGS), so a test can check that every rating lands on
the right response whatever order the judge saw.

Run alone for benchmarks: `python tests/fake_openai.py --latency 0.05` prints the port.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

try:
    from tests.fake_batch_api import FakeBatchApi
except ImportError:  # run as a script: `python tests/fake_openai.py`
    from fake_batch_api import FakeBatchApi  # type: ignore[no-redef]

RATINGS = {"alpha": 5, "beta": 2, "gamma": 4, "delta": 1, "epsilon": 3}
SIGNATURE = re.compile(r"-- answered by (\S+)")
SHOWN_COUNT = re.compile(r"an instruction and (\d+) responses")


def shown_responses(prompt: str) -> list[str]:
    """The responses a judge prompt shows, in order (a response may hold marker-like text:
    each one ends where the next one's marker follows its own end marker)."""
    count = SHOWN_COUNT.search(prompt)
    if count is None:
        return []
    n = int(count.group(1))
    at = prompt.index("</instruction>")
    texts = []
    for i in range(1, n + 1):
        start = prompt.index(f"<response {i}>\n", at) + len(f"<response {i}>\n")
        if i < n:
            end = prompt.index(f"\n</response {i}>\n\n<response {i + 1}>\n", start)
        else:
            end = prompt.rindex(f"\n</response {n}>")
        texts.append(prompt[start:end])
        at = end
    return texts


LENGTH_STEP = 150  # `judge-longer`: a point more per this many characters


def text_rating(text: str) -> int:
    """A truthful judge's rating of an unsigned answer: fixed by its text, 1 to 4 (so a
    judge that adds a point can)."""
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % 4 + 1


def expected_rating(model: str) -> int:
    for name, rating in RATINGS.items():
        if model.startswith(name):
            return rating
    return int(hashlib.sha256(model.encode()).hexdigest(), 16) % 5 + 1


def varied_grade(messages: list[dict[str, str]]) -> int | str:
    """What `judge-varied` makes of a grading request, fixed by the answer it is shown: a
    grade 1-10, or (about one in ten each) "unreadable" (even after a repair request) or
    "failed" (a 500 on every attempt)."""
    shown = messages[1]["content"].split("<assistant answer>", 1)[-1] if len(messages) > 1 else ""
    draw = int(hashlib.sha256(shown.encode()).hexdigest(), 16)
    if draw % 10 == 0:
        return "unreadable"
    if draw % 10 == 1:
        return "failed"
    return draw // 10 % 10 + 1


@dataclass
class Received:
    model: str
    messages: list[dict[str, str]]
    authorization: str | None
    response_format: dict[str, Any] | None = None
    body: dict[str, Any] = field(default_factory=dict)  # the whole request


@dataclass
class FakeOpenAI(FakeBatchApi):
    api_key: str | None = None
    latency: float = 0.0
    requests: list[Received] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)
    served_models: list[str] = field(default_factory=list)  # listed by GET /v1/models
    ready: bool = True  # GET /health answers 200, else 503
    on_completion: Any = None  # called after each chat completion is sent
    varied_failures: bool = True  # `judge-varied` fails the grades it would fail

    def __post_init__(self) -> None:
        self.batch_state()

    # ------------------------------------------------------------------------------ server

    def start(self, port: int = 0) -> FakeOpenAI:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        started = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._connection, "127.0.0.1", port), self.loop
        )
        self.server = started.result(timeout=10)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                keep = await self._respond(method, path, headers, body, writer)
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        reason = {
            200: "OK",
            400: "Bad Request",
            401: "Unauthorized",
            404: "Not Found",
            429: "Too Many Requests",
            500: "Internal Server Error",
            503: "Service Unavailable",
        }[status]
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n{extra}\r\n".encode()
            + data
        )
        await writer.drain()

    # ---------------------------------------------------------------------------- behaviour

    async def _respond(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        writer: asyncio.StreamWriter,
    ) -> bool:
        if method == "GET" and path == "/health":
            await self._send(writer, 200 if self.ready else 503, {})
            return True
        if method == "GET" and path == "/v1/models":
            if self.api_key and headers.get("authorization") != f"Bearer {self.api_key}":
                await self._send(writer, 401, {"error": {"message": "missing or wrong API key"}})
                return True
            listed = [{"id": m, "object": "model"} for m in self.served_models]
            await self._send(writer, 200, {"object": "list", "data": listed})
            return True
        if path.startswith(("/v1/files", "/v1/batches")):
            return await self.batch_route(method, path, headers, body, writer)
        if method != "POST" or not path.endswith("/chat/completions"):
            await self._send(writer, 404, {"error": {"message": f"no route {method} {path}"}})
            return True
        request = json.loads(body)
        model = request["model"]
        messages = request["messages"]
        constrained = request.get("response_format")
        self.requests.append(
            Received(model, messages, headers.get("authorization"), constrained, request)
        )
        key = hashlib.sha256(body).hexdigest()
        self.attempts[key] += 1
        attempt = self.attempts[key]
        if self.latency:
            await asyncio.sleep(self.latency)

        if self.api_key and headers.get("authorization") != f"Bearer {self.api_key}":
            await self._send(writer, 401, {"error": {"message": "missing or wrong API key"}})
            return True
        if "leakypart" in model:
            key = headers.get("authorization", "")[7:]
            masked = key[:8] + "*" * max(0, len(key) - 12) + key[-4:]
            await self._send(
                writer,
                401,
                {
                    "error": {
                        "message": f"Incorrect API key provided: {masked}. You can find your "
                        "API key in your account."
                    }
                },
            )
            return True
        if "leakytail" in model:
            tail = headers.get("authorization", "")[-6:]
            message = f"the key ending in {tail} has no access (tail {tail[-4:]})"
            await self._send(writer, 400, {"error": {"message": message}})
            return True
        if "leaky" in model:
            await self._send(
                writer,
                401,
                {
                    "error": {
                        "message": "Incorrect API key provided: "
                        + headers.get("authorization", "")[7:]
                    }
                },
            )
            return True
        if "error200" in model:
            await self._send(writer, 200, {"error": {"message": "the model is overloaded"}})
            return True
        if "surrogate400" in model:
            await self._send(writer, 400, {"error": {"message": "bad input near \ud83d here"}})
            return True
        if "always500" in model or (
            "varied" in model and self.varied_failures and varied_grade(messages) == "failed"
        ):
            await self._send(writer, 500, {"error": {"message": "the server is on fire"}})
            return True
        if "bad400" in model:
            await self._send(
                writer,
                400,
                {"error": {"message": "This model's maximum context length is 8 tokens"}},
            )
            return True
        if "flaky429" in model and attempt <= 2:
            await self._send(
                writer, 429, {"error": {"message": "slow down"}}, {"Retry-After": "0.05"}
            )
            return True
        if "flaky500" in model and attempt <= 2:
            await self._send(writer, 500 if attempt == 1 else 503, {"error": {"message": "oops"}})
            return True
        if "drop" in model and attempt == 1:
            return False
        if "slow" in model and attempt == 1:
            await asyncio.sleep(5)

        reply = self.chat_reply(model, messages, constrained, key, headers.get("authorization"))
        data = json.dumps(reply).encode()
        if "trickle" in model:
            writer.write(
                f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\n\r\n".encode()
            )
            for byte in data:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(1.0)
            return True
        if "trunc" in model and attempt == 1:
            writer.write(
                f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\n\r\n".encode()
                + data[: len(data) // 2]
            )
            await writer.drain()
            return False
        if "garbagebody" in model and attempt == 1:
            await self._send(writer, 200, b'{"choices": [{"message": {"content": "cut')
            return True
        await self._send(writer, 200, data)
        if self.on_completion is not None:
            self.on_completion()
        return True

    def chat_reply(
        self,
        model: str,
        messages: list[dict[str, str]],
        constrained: dict[str, Any] | None,
        key: str,
        authorization: str | None,
    ) -> dict[str, Any]:
        """The chat completion this server answers (the body of a 200), faults aside."""
        if model.startswith("judge") and "<reference answer>" in messages[-1]["content"] + (
            messages[1]["content"] if len(messages) > 1 else ""
        ):
            text = self._grade(model, messages, constrained)
        elif model.startswith("judge") and constrained:
            text = self._judge_constrained(messages, constrained, model)
        elif model.startswith("judge"):
            text = self._judge(model, messages)
        else:
            text = self._answer(model, messages)
        if "echokey" in model:
            text += f"\nYour key is {(authorization or '')[7:]}."
        if "surrogate" in model:
            text += " \ud83d"  # json.dumps writes it as the escape a server would send
        prompt_chars = sum(len(m["content"]) for m in messages)
        reply = {
            "id": f"chatcmpl-{key[:12]}",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_chars // 4,
                "completion_tokens": len(text) // 4,
                "total_tokens": prompt_chars // 4 + len(text) // 4,
            },
        }
        if "cutoff" in model:
            reply["choices"][0]["finish_reason"] = "length"
        if "nomessage" in model:
            del reply["choices"][0]["message"]
        if "absurdusage" in model:
            reply["usage"] = {"prompt_tokens": -5, "completion_tokens": 10**12, "total_tokens": 0}
        return reply

    def _answer(self, model: str, messages: list[dict[str, str]]) -> str:
        instruction = messages[-1]["content"]
        digest = hashlib.sha256(instruction.encode()).hexdigest()[:10]
        echo = f"\nYou asked:\n{instruction}\n" if "ECHO" in instruction else ""
        return (
            f"Here is my answer to {digest}.{echo}\n```python\nprint({model!r})\n```\n"
            f"-- answered by {model}"
        )

    def _grade(
        self, model: str, messages: list[dict[str, str]], constrained: dict[str, Any] | None
    ) -> str:
        """A CODAL-Bench grade of one answer: twice the RATINGS of the model that wrote it
        (so 2..10), in the judge's style."""
        style = model.split("-", 1)[1] if "-" in model else "markdown"
        shown = messages[1]["content"].split("<assistant answer>", 1)[-1]
        writers = SIGNATURE.findall(shown)
        grade = 2 * expected_rating(writers[0]) if writers else 1
        if style == "varied":
            varied = varied_grade(messages)
            if varied == "failed":  # failures are off: a middling grade instead
                varied = 5
            if varied == "unreadable":
                return "An answer I would not put a number on."
            return f"Judged on its own merits.\n\nRating: {varied}"
        if constrained:
            return json.dumps({"rationale": f"constrained grade {grade}", "rating": grade})
        if messages[-1]["content"].startswith("I could not read a grade"):
            if style == "garbagealways":
                return "No."
            return json.dumps({"rationale": "repaired", "rating": grade})
        if style in ("garbage", "garbagealways"):
            return "A fine answer overall, with room to improve."
        if style == "json":
            return json.dumps({"rationale": f"json grade {grade}", "rating": grade})
        return f"Compared with the reference, it is {grade} material.\n\nRating: {grade}/10"

    def _shown_ratings(self, messages: list[dict[str, str]], judge: str = "judge") -> list[int]:
        """The rating of each response shown, in order: by the model that signed it (else
        by its text), then the judge's bias, named in its model name: `firstplus` adds 1 to
        whatever is shown first, `longer` rates by length alone (1 + a point per
        LENGTH_STEP characters), `favours-<family>` adds 1 to answers by that family."""
        ratings = []
        for position, text in enumerate(shown_responses(messages[1]["content"]), start=1):
            writers = SIGNATURE.findall(text)
            rating = expected_rating(writers[0]) if writers else text_rating(text)
            if "longer" in judge:
                rating = 1 + min(4, len(text) // LENGTH_STEP)
            if "firstplus" in judge and position == 1:
                rating = min(5, rating + 1)
            favoured = judge.split("favours-", 1)[1] if "favours-" in judge else None
            if favoured and writers and favoured in writers[0]:
                rating = min(5, rating + 1)
            ratings.append(rating)
        return ratings

    def _judge_constrained(
        self, messages: list[dict[str, str]], constraint: dict[str, Any], judge: str = "judge"
    ) -> str:
        """What a schema-constrained engine returns: the JSON object and nothing else, with
        each entry's position given only by its place in the list. A schema that does not
        ask for one entry per response shown gets an answer no reader can use."""
        ratings = self._shown_ratings(messages, judge)
        schema = (constraint.get("json_schema") or {}).get("schema") or constraint.get("schema")
        if schema is not None:
            listed = schema["properties"]["ratings"]
            if listed["minItems"] != len(ratings) or listed["maxItems"] != len(ratings):
                return "{}"
        entries = [{"rationale": f"constrained {i}", "rating": r} for i, r in enumerate(ratings, 1)]
        return json.dumps({"ratings": entries})

    def _judge(self, model: str, messages: list[dict[str, str]]) -> str:
        style = model.split("-", 1)[1] if "-" in model else "markdown"
        last = messages[-1]["content"]
        repairing = last.startswith("I could not read")
        ratings = self._shown_ratings(messages, model)
        if repairing:
            if style == "garbagealways":
                return "I would rather not say."
            return json.dumps(
                {
                    "ratings": [
                        {"response": i, "rating": r, "rationale": f"repaired {i}"}
                        for i, r in enumerate(ratings, start=1)
                    ]
                }
            )
        if style in ("garbage", "garbagealways"):
            return "These are all fine answers, each with its own strengths."
        sections = []
        for i, rating in enumerate(ratings, start=1):
            why = f"Response {i} earns {rating} because of its approach.\n\nIt also reads well."
            if style == "paper":
                sections.append(f"#### Output for Text {i}\nRating: {rating}\nRationale: {why}")
            elif style == "numbered":
                sections.append(f"{i}. **Rating**: {rating}/5\n   **Rationale**: {why}")
            elif style == "inline":
                sections.append(f"**Response {i}** - Rating: {rating}/5\n{why}")
            elif style == "outofrange":
                value = rating if i != 1 else 9
                sections.append(f"### Response {i}\nRating: {value}\nRationale: {why}")
            else:
                sections.append(f"### Response {i}\n**Rating:** {rating}\n**Rationale:** {why}")
        if style in ("json", "fenced"):
            payload = json.dumps(
                {
                    "ratings": [
                        {"response": i, "rating": r, "rationale": f"json {i}"}
                        for i, r in enumerate(ratings, start=1)
                    ]
                },
                indent=1,
            )
            return payload if style == "json" else f"My ratings:\n```json\n{payload}\n```\nDone."
        if style == "reordered":
            sections.reverse()
            return (
                "Let me look at each answer.\n\n"
                + "\n\n".join(sections)
                + ("\n\nOverall, the answers vary a lot in quality.")
            )
        return "\n\n".join(sections)


def start_in_subprocess(latency: float, *flags: str) -> tuple[Any, str]:
    """This server in a process of its own (for benchmarks): (the process, its base URL)."""
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, __file__, "--latency", str(latency), *flags],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, f"http://127.0.0.1:{port}/v1"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument(
        "--no-varied-failures", action="store_true", help="judge-varied never answers 500"
    )
    args = parser.parse_args()
    server = FakeOpenAI(latency=args.latency, varied_failures=not args.no_varied_failures).start()
    print(server.port, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
