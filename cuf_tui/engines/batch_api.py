"""The Batch API of an OpenAI-compatible provider, through the official client: upload a
JSON Lines file of requests (files endpoint, purpose "batch"), create a batch of it for
`/v1/chat/completions` with a 24-hour window, ask how it stands, download its output and
error files, cancel it. The same retries, attempt bounds and secret removal as every other
request (`openai_client`); what still fails is a :class:`RequestFailed`."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final, TypeVar

from cuf_tui.config import ModelEntry
from cuf_tui.engines.openai_client import (
    DEFAULT_BASE_URL,
    TRANSIENT_STATUS,
    AttemptCounts,
    RequestFailed,
    _status_message,
    api_key_for,
)
from cuf_tui.engines.replies import Secrets, replace_invalid_code_points
from cuf_tui.store.remote_batches import FINISHED, RemoteStatus

if TYPE_CHECKING:
    from openai import AsyncOpenAI

T = TypeVar("T")

CHAT_COMPLETIONS: Final = "/v1/chat/completions"
COMPLETION_WINDOW: Final = "24h"
SEARCHED = 2000  # the newest files or batches looked through for one a dead worker made
TRANSFER_TIMEOUT_S = 900.0  # an upload or download of up to 200 MB, per attempt


KNOWN_STATES = FINISHED | {"validating", "in_progress", "finalizing", "cancelling"}


class _NotFound(Exception):
    """No batch was made of the file."""


class BatchApi:
    """One provider's files and batches endpoints, for one model entry."""

    def __init__(self, entry: ModelEntry, secrets: Secrets, attempts: AttemptCounts) -> None:
        self.entry = entry
        self.secrets = secrets
        self.attempts = attempts
        self.base_url = entry.base_urls[0]
        self.where = f"{entry.name}'s Batch API at {self.base_url or DEFAULT_BASE_URL}"
        self._api_key = api_key_for(entry, secrets)
        self._client: AsyncOpenAI | None = None

    @property
    def endpoint(self) -> str:
        return self.base_url or DEFAULT_BASE_URL

    def _the_client(self) -> AsyncOpenAI:
        if self._client is None:
            import httpx2
            from openai import AsyncOpenAI, DefaultAsyncHttpxClient

            from cuf_tui.engines.attempts import WholeAttempts

            timeout = max(self.entry.request_timeout, TRANSFER_TIMEOUT_S)
            http = DefaultAsyncHttpxClient(
                transport=WholeAttempts(
                    httpx2.AsyncHTTPTransport(),
                    timeout,
                    self.attempts,
                    self.where,
                    self.secrets,
                )
            )
            self._client = AsyncOpenAI(
                base_url=self.base_url,
                api_key=self._api_key,
                max_retries=self.entry.max_retries,
                timeout=timeout,
                http_client=http,
            )
        return self._client

    async def _call(self, what: str, call: Callable[[AsyncOpenAI], Awaitable[T]]) -> T:
        import openai

        try:
            return await call(self._the_client())
        except openai.APIStatusError as err:
            raise RequestFailed(
                self.clean(f"{self.where}: {what}: HTTP {err.status_code}: {_status_message(err)}"),
                transient=err.status_code in TRANSIENT_STATUS,
                status=err.status_code,
            ) from None
        except openai.APITimeoutError:
            raise RequestFailed(f"{self.where}: {what}: no reply in time", transient=True) from None
        except openai.APIConnectionError as err:
            cause = err.__cause__ or err
            raise RequestFailed(
                self.clean(f"{self.where}: {what}: {type(cause).__name__}: {cause}"),
                transient=True,
            ) from None
        except (ValueError, TypeError, AttributeError, KeyError, openai.OpenAIError) as err:
            # A reply the client could not read (a proxy's HTML page with a 200, a body of
            # another shape): worth asking again later, never the end of the batch.
            raise RequestFailed(
                self.clean(
                    f"{self.where}: {what}: the reply could not be read "
                    f"({type(err).__name__}: {err})"
                ),
                transient=True,
            ) from None

    async def _status_of(
        self, what: str, call: Callable[[AsyncOpenAI], Awaitable[Any]]
    ) -> RemoteStatus:
        """A batch as the provider describes it, its words without any secret; a reply that
        does not describe a batch is a transient failure."""
        batch = await self._call(what, call)
        try:
            status = _status(batch)
        except (AttributeError, TypeError, ValueError):
            status = None
        if status is None or not status.batch_id or status.status not in KNOWN_STATES:
            raise RequestFailed(
                f"{self.where}: {what}: the reply does not describe a batch", transient=True
            )
        if status.errors:
            status = replace(status, errors=self.clean(status.errors))
        return status

    def clean(self, message: str) -> str:
        return replace_invalid_code_points(self.secrets.redact(message))[0]

    async def upload(self, name: str, lines: bytes) -> str:
        """Upload a file of requests; its id."""

        async def call(client: AsyncOpenAI) -> str:
            # Not retried by the client: a reply lost after the file arrived would upload
            # it twice. The caller looks for the file by its name instead.
            uploaded = await client.with_options(max_retries=0).files.create(
                file=(name, lines, "application/jsonl"), purpose="batch"
            )
            if not isinstance(uploaded.id, str) or not uploaded.id:
                raise ValueError("the reply names no file")
            return uploaded.id

        return await self._call("uploading the requests", call)

    async def create(self, input_file_id: str, metadata: dict[str, str]) -> RemoteStatus:
        async def call(client: AsyncOpenAI) -> Any:
            # Not retried by the client: a reply lost after the batch was made would make
            # a second one. The caller looks for the batch by its file instead.
            return await client.with_options(max_retries=0).batches.create(
                input_file_id=input_file_id,
                endpoint=CHAT_COMPLETIONS,
                completion_window=COMPLETION_WINDOW,
                metadata=metadata,
            )

        return await self._status_of("creating the batch", call)

    async def find(self, input_file_id: str) -> RemoteStatus | None:
        """The batch made of ``input_file_id``, if one was created (a worker can die between
        creating it and recording it)."""

        async def call(client: AsyncOpenAI) -> Any:
            seen = 0
            async for batch in client.batches.list(limit=100):
                if batch.input_file_id == input_file_id:
                    return batch
                seen += 1
                if seen >= SEARCHED:
                    break
            return None

        async def found(client: AsyncOpenAI) -> Any:
            batch = await call(client)
            if batch is None:
                raise _NotFound
            return batch

        try:
            return await self._status_of("listing batches", found)
        except _NotFound:
            return None

    async def find_file(self, name: str) -> str | None:
        """The id of the batch input file called ``name``, if its upload arrived (a worker can
        die during it)."""

        async def call(client: AsyncOpenAI) -> str | None:
            seen = 0
            async for uploaded in client.files.list(purpose="batch"):
                if uploaded.filename == name:
                    return str(uploaded.id)
                seen += 1
                if seen >= SEARCHED:
                    break
            return None

        return await self._call("listing files", call)

    async def retrieve(self, batch_id: str) -> RemoteStatus:
        async def call(client: AsyncOpenAI) -> Any:
            return await client.batches.retrieve(batch_id)

        return await self._status_of(f"asking after batch {batch_id}", call)

    async def cancel(self, batch_id: str) -> RemoteStatus:
        async def call(client: AsyncOpenAI) -> Any:
            return await client.batches.cancel(batch_id)

        return await self._status_of(f"cancelling batch {batch_id}", call)

    async def download(self, file_id: str) -> bytes:
        async def call(client: AsyncOpenAI) -> bytes:
            content = await client.files.content(file_id)
            return bytes(content.content)

        return await self._call(f"downloading file {file_id}", call)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()


def _status(batch: Any) -> RemoteStatus:
    counts = getattr(batch, "request_counts", None)
    errors = getattr(batch, "errors", None)
    said = None
    if errors is not None and getattr(errors, "data", None):
        said = "; ".join(
            str(getattr(e, "message", None) or getattr(e, "code", None) or e)
            for e in errors.data[:5]
        )
    return RemoteStatus(
        batch_id=str(getattr(batch, "id", None) or ""),
        status=str(getattr(batch, "status", None) or ""),
        input_file_id=getattr(batch, "input_file_id", None),
        output_file_id=getattr(batch, "output_file_id", None),
        error_file_id=getattr(batch, "error_file_id", None),
        total=int(getattr(counts, "total", 0) or 0),
        completed=int(getattr(counts, "completed", 0) or 0),
        failed=int(getattr(counts, "failed", 0) or 0),
        created_at=_whole(getattr(batch, "created_at", None)),
        expires_at=_whole(getattr(batch, "expires_at", None)),
        errors=said,
    )


def _whole(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def request_line(custom_id: str, body: dict[str, Any]) -> bytes:
    """One line of a batch's input file."""
    line = {"custom_id": custom_id, "method": "POST", "url": CHAT_COMPLETIONS, "body": body}
    return json.dumps(line, ensure_ascii=False).encode() + b"\n"
