"""The files and batches endpoints of the loopback server, as OpenAI documents them:

- `POST /v1/files` (multipart: `purpose=batch` and the JSON Lines `file`), `GET
  /v1/files/{id}/content`;
- `POST /v1/batches` (`input_file_id`, `endpoint`, `completion_window`, `metadata`), `GET
  /v1/batches/{id}`, `POST /v1/batches/{id}/cancel`, `GET /v1/batches`.

A batch moves one status further each time it is retrieved: validating -> in_progress ->
finalizing -> completed, its answers computed by the server's own chat completions and
written in a shuffled order, failing requests (a 400 or 500 model) in the error file. Test
knobs: `hold_in_progress` (it stays in progress while set), `expire_batches` (the numbers
of the batches that expire, having answered only `expire_answered` of their requests),
`max_batch_requests` (a larger input file fails validation), `fail_uploads` (uploads
answered 500 this many times)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from typing import Any

STEPS = ("validating", "in_progress", "finalizing", "completed")
FINISHED = ("completed", "expired", "failed", "cancelled")
PAGE = 100


class FakeBatchApi:
    """Mixed into FakeOpenAI; its state lives in ``self.files`` and ``self.batches``."""

    def batch_state(self) -> None:
        self.files: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.uploads: list[str] = []  # file ids of input files, in upload order
        self.hold_in_progress = False
        self.expire_batches: set[int] = set()  # 1: the first batch created
        self.expire_answered = 0.5
        self.max_batch_requests = 50_000
        self.fail_uploads = 0
        self.cancelled: list[str] = []
        # Where a request hangs without an answer (for killing a worker there): "upload"
        # (before the file is kept), "uploaded" (after), "create" (after the batch is made).
        self.stall: set[str] = set()
        # Faults, each once: "create" or "upload" done, then the connection closed unanswered.
        self.drop_replies: set[str] = set()
        self.garbage_retrieves = 0  # the next retrieves answer 200 with an HTML page
        self.missing_retrieves = 0  # the next retrieves answer 404
        self.unauthorized_retrieves = 0  # the next retrieves answer 401
        self.garbage_downloads = 0  # the next downloads answer 200 with an HTML page
        self.expired_as_errors = False  # an expired batch lists what it did not run as errors
        self.refusal_extra = ""  # appended to the reason a refused batch gives

    # -------------------------------------------------------------------------- routes

    async def batch_route(
        self, method: str, path: str, headers: dict[str, str], body: bytes, writer: Any
    ) -> bool:
        """Answer one request; False: the connection is closed without an answer."""
        if self.api_key and headers.get("authorization") != f"Bearer {self.api_key}":
            await self._send(writer, 401, {"error": {"message": "missing or wrong API key"}})
            return True
        parts = path.split("?", 1)[0].strip("/").split("/")[1:]  # after "v1"
        if parts == ["files"] and method == "POST":
            return await self._upload_file(headers, body, writer)
        elif parts == ["files"] and method == "GET":
            listed = [
                {
                    "id": file_id,
                    "object": "file",
                    "bytes": len(found["content"]),
                    "created_at": 1_700_000_000,
                    "filename": found.get("filename", "output.jsonl"),
                    "purpose": found["purpose"],
                }
                for file_id, found in reversed(self.files.items())
                if found["purpose"] == "batch"
            ]
            await self._send(writer, 200, {"object": "list", "data": listed, "has_more": False})
        elif len(parts) == 3 and parts[0] == "files" and parts[2] == "content":
            found = self.files.get(parts[1])
            if self.garbage_downloads > 0:
                self.garbage_downloads -= 1
                await self._send(writer, 200, b"<html><body>Service is updating</body></html>")
                return True
            if found is None:
                await self._send(writer, 404, {"error": {"message": f"no file {parts[1]}"}})
            else:
                await self._send(writer, 200, found["content"])
        elif parts == ["batches"] and method == "POST":
            return await self._create_batch(json.loads(body), writer)
        elif parts == ["batches"] and method == "GET":
            listed = [self._batch_shown(b) for b in reversed(list(self.batches.values()))][:PAGE]
            await self._send(writer, 200, {"object": "list", "data": listed, "has_more": False})
        elif len(parts) == 2 and parts[0] == "batches" and method == "GET":
            batch = self.batches.get(parts[1])
            if self.garbage_retrieves > 0:
                self.garbage_retrieves -= 1
                await self._send(writer, 200, b"<html><body>Service is updating</body></html>")
                return True
            if self.unauthorized_retrieves > 0:
                self.unauthorized_retrieves -= 1
                await self._send(writer, 401, {"error": {"message": "key revoked"}})
                return True
            if batch is None or self.missing_retrieves > 0:
                self.missing_retrieves = max(0, self.missing_retrieves - 1)
                await self._send(writer, 404, {"error": {"message": f"no batch {parts[1]}"}})
                return True
            self._advance(batch)
            await self._send(writer, 200, self._batch_shown(batch))
        elif len(parts) == 3 and parts[0] == "batches" and parts[2] == "cancel":
            batch = self.batches.get(parts[1])
            if batch is None:
                await self._send(writer, 404, {"error": {"message": f"no batch {parts[1]}"}})
                return True
            if batch["status"] not in FINISHED:
                batch["status"] = "cancelling"
                self.cancelled.append(batch["id"])
            await self._send(writer, 200, self._batch_shown(batch))
        else:
            await self._send(writer, 404, {"error": {"message": f"no route {method} {path}"}})
        return True

    async def _upload_file(self, headers: dict[str, str], body: bytes, writer: Any) -> bool:
        if self.fail_uploads > 0:
            self.fail_uploads -= 1
            await self._send(writer, 500, {"error": {"message": "upload failed"}})
            return True
        if "upload" in self.stall:
            await asyncio.sleep(3600)
        fields = _multipart(headers.get("content-type", ""), body)
        if fields.get("purpose") != b"batch" or "file" not in fields:
            await self._send(writer, 400, {"error": {"message": "purpose batch and a file"}})
            return True
        content = fields["file"]
        file_id = f"file-{hashlib.sha256(content).hexdigest()[:8]}{len(self.files)}"
        filename = fields.get("file.filename", b"").decode()
        self.files[file_id] = {"content": content, "purpose": "batch", "filename": filename}
        self.uploads.append(file_id)
        if "uploaded" in self.stall:
            await asyncio.sleep(3600)
        if "upload" in self.drop_replies:
            self.drop_replies.discard("upload")
            return False
        await self._send(
            writer,
            200,
            {
                "id": file_id,
                "object": "file",
                "bytes": len(content),
                "created_at": 1_700_000_000,
                "filename": "requests.jsonl",
                "purpose": "batch",
            },
        )
        return True

    async def _create_batch(self, request: dict[str, Any], writer: Any) -> bool:
        file_id = request.get("input_file_id")
        if file_id not in self.files:
            await self._send(writer, 400, {"error": {"message": f"no file {file_id}"}})
            return True
        if (
            request.get("endpoint") != "/v1/chat/completions"
            or request.get("completion_window") != "24h"
        ):
            await self._send(writer, 400, {"error": {"message": "endpoint or window"}})
            return True
        number = len(self.batches) + 1
        batch = {
            "id": f"batch_{number:04d}",
            "number": number,
            "input_file_id": file_id,
            "status": "validating",
            "metadata": request.get("metadata"),
            "output_file_id": None,
            "error_file_id": None,
            "errors": None,
            "counts": {"total": 0, "completed": 0, "failed": 0},
            "created_at": int(time.time()),
        }
        self.batches[batch["id"]] = batch
        if "create" in self.stall:
            await asyncio.sleep(3600)
        if "create" in self.drop_replies:
            self.drop_replies.discard("create")
            return False
        await self._send(writer, 200, self._batch_shown(batch))
        return True

    # ------------------------------------------------------------------------ progress

    def _advance(self, batch: dict[str, Any]) -> None:
        status = batch["status"]
        if status == "cancelling":
            batch["status"] = "cancelled"
            return
        if status in FINISHED or (status == "in_progress" and self.hold_in_progress):
            return
        if status == "validating":
            lines = _lines(self.files[batch["input_file_id"]]["content"])
            problem = _invalid(lines, self.max_batch_requests)
            if problem:
                batch["status"] = "failed"
                batch["errors"] = {
                    "object": "list",
                    "data": [{"code": "invalid", "message": problem + self.refusal_extra}],
                }
                return
            batch["counts"]["total"] = len(lines)
        nxt = STEPS[STEPS.index(status) + 1]
        if nxt == "completed":
            self._answer_batch(batch)
            if batch["number"] in self.expire_batches:
                nxt = "expired"
        batch["status"] = nxt

    def _answer_batch(self, batch: dict[str, Any]) -> None:
        lines = _lines(self.files[batch["input_file_id"]]["content"])
        requests = [json.loads(line) for line in lines]
        output, errors = [], []
        if batch["number"] in self.expire_batches:
            answered = int(len(requests) * self.expire_answered)
            if self.expired_as_errors:  # as OpenAI writes them: in the error file
                for n, line in enumerate(requests[answered:]):
                    error = {
                        "code": "batch_expired",
                        "message": "This request could not be "
                        "executed before the completion window expired.",
                    }
                    errors.append(
                        {
                            "id": f"batch_req_x{n}",
                            "custom_id": line["custom_id"],
                            "response": None,
                            "error": error,
                        }
                    )
            requests = requests[:answered]
        authorization = f"Bearer {self.api_key}" if self.api_key else None
        for n, line in enumerate(requests):
            body = line["body"]
            model = body["model"]
            messages = body["messages"]
            self.requests.append(_received(model, messages, authorization, body))
            answer: dict[str, Any] = {
                "id": f"batch_req_{batch['number']}_{n}",
                "custom_id": line["custom_id"],
            }
            if "bad400" in model or "always500" in model:
                status = 400 if "bad400" in model else 500
                answer["response"] = {
                    "status_code": status,
                    "request_id": f"req_{n}",
                    "body": {"error": {"message": f"the model refused ({status})"}},
                }
                answer["error"] = None
                errors.append(answer)
                continue
            key = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
            reply = self.chat_reply(
                model, messages, body.get("response_format"), key, authorization
            )
            answer["response"] = {"status_code": 200, "request_id": f"req_{n}", "body": reply}
            answer["error"] = None
            output.append(answer)
        random.Random(batch["id"]).shuffle(output)
        random.Random(batch["id"] + "e").shuffle(errors)
        batch["counts"]["completed"] = len(output)
        batch["counts"]["failed"] = len(errors)
        for kind, answers in (("output_file_id", output), ("error_file_id", errors)):
            if answers:
                file_id = f"file-{kind[:3]}-{batch['id']}"
                content = "".join(
                    json.dumps(a, ensure_ascii=False) + "\n" for a in answers
                ).encode()
                self.files[file_id] = {"content": content, "purpose": "batch_output"}
                batch[kind] = file_id

    def _batch_shown(self, batch: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": batch["id"],
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "errors": batch["errors"],
            "input_file_id": batch["input_file_id"],
            "completion_window": "24h",
            "status": batch["status"],
            "output_file_id": batch["output_file_id"],
            "error_file_id": batch["error_file_id"],
            "created_at": batch["created_at"],
            "expires_at": batch["created_at"] + 86_400,
            "request_counts": dict(batch["counts"]),
            "metadata": batch["metadata"],
        }


def _lines(content: bytes) -> list[str]:
    """The lines of a JSON Lines file: they end at "\n" only."""
    return [line for line in content.decode().split("\n") if line.strip()]


def _received(model: str, messages: Any, authorization: str | None, body: dict[str, Any]) -> Any:
    from tests.fake_openai import Received

    return Received(model, messages, authorization, body.get("response_format"), body)


def _invalid(lines: list[str], limit: int) -> str | None:
    """Why an input file cannot be a batch, as the provider checks it."""
    if len(lines) > limit:
        return f"{len(lines)} requests, more than the {limit} a batch may hold"
    seen: set[str] = set()
    for number, text in enumerate(lines, start=1):
        try:
            line = json.loads(text)
        except ValueError:
            return f"line {number} is not JSON"
        if line.get("method") != "POST" or line.get("url") != "/v1/chat/completions":
            return f"line {number}: method or url"
        custom_id = line.get("custom_id")
        if not isinstance(custom_id, str) or custom_id in seen:
            return f"line {number}: custom_id missing or repeated"
        seen.add(custom_id)
        if not isinstance(line.get("body"), dict) or "model" not in line["body"]:
            return f"line {number}: no body or model"
    return None


def _multipart(content_type: str, body: bytes) -> dict[str, bytes]:
    """The fields of a multipart/form-data body, by name."""
    if "boundary=" not in content_type:
        return {}
    boundary = content_type.split("boundary=", 1)[1].strip().strip('"').encode()
    fields: dict[str, bytes] = {}
    for part in body.split(b"--" + boundary):
        if b"\r\n\r\n" not in part:
            continue
        head, content = part.split(b"\r\n\r\n", 1)
        if content.endswith(b"\r\n"):
            content = content[:-2]
        name = filename = None
        for piece in head.decode("latin-1").replace("\r\n", ";").split(";"):
            piece = piece.strip()
            if piece.startswith("name="):
                name = piece[5:].strip('"')
            elif piece.startswith("filename="):
                filename = piece[9:].strip('"')
        if name is not None:
            fields[name] = content
            if filename is not None:
                fields[f"{name}.filename"] = filename.encode()
    return fields
