"""Streaming inference: a generation's text pieces as an async iterator, off the event loop.

``InferenceService.stream`` resolves and validates like ``infer``, then wraps the runtime's
``stream`` generator here. Each step (``next``) runs in a worker thread; the loop only awaits.
Closing the stream early (the client went away) closes the runtime's generator, which stops the
model within one token. The stream holds a lease on the loaded version (``inflight``), so a hot
swap drains it like any request.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from modelport.errors import ModelError, ModelportError
from modelport.registry.manifest import ModelVersionInfo
from modelport.runtime.generation import GenerationResult

log = logging.getLogger(__name__)
_END = object()


class TokenStream:
    """Async iterator of text pieces; ``result`` holds usage and the finish reason once done."""

    def __init__(self, info: ModelVersionInfo, pieces: Iterator[str], *, request_id: str = "",
                 on_finish: Callable[[TokenStream, str], None] | None = None) -> None:
        self.info = info
        self.request_id = request_id
        self.result: GenerationResult | None = None
        self.started = time.perf_counter()
        self._pieces = pieces
        self._lock = threading.Lock()  # the generator must never run in two threads at once
        self._done = False
        self._on_finish = on_finish
        self._primed: str | None = None
        self._text: list[str] = []  # what was generated, for the prediction log

    @property
    def text(self) -> str:
        """The text generated so far (all of it once the stream is done)."""
        return "".join(self._text)

    @property
    def model(self) -> str:
        return self.info.name

    def __aiter__(self) -> TokenStream:
        return self

    def _next(self) -> Any:
        with self._lock:
            if self._done:
                return _END
            try:
                return next(self._pieces)
            except StopIteration as stop:
                value = stop.value
                self.result = value if isinstance(value, GenerationResult) else GenerationResult()
                return _END
            except ModelportError:
                raise
            except Exception as exc:
                log.exception("streaming %s v%s raised", self.info.name, self.info.version)
                raise ModelError(f"model raised {type(exc).__name__}") from exc

    async def prime(self) -> None:
        """Run up to the first piece now, so a bad request fails before a response starts."""
        if self._primed is None and not self._done:
            try:
                self._primed = await self.__anext__()
            except StopAsyncIteration:
                self._primed = None

    async def __anext__(self) -> str:
        if self._primed is not None:
            piece, self._primed = self._primed, None
            return piece
        if self._done:
            raise StopAsyncIteration
        try:
            piece = await asyncio.get_running_loop().run_in_executor(None, self._next)
        except ModelportError as exc:
            self._finish(exc.code)
            raise
        if piece is _END:
            self._finish("ok")
            raise StopAsyncIteration
        text = str(piece)
        self._text.append(text)
        return text

    async def collect(self) -> str:
        return "".join([piece async for piece in self])

    def _close_generator(self) -> None:
        with self._lock:
            close = getattr(self._pieces, "close", None)
            if close is not None:
                close()

    def cancel(self) -> None:
        """Stop generating (never awaits: callable from a cancelled task's ``finally``)."""
        if self._done:
            return
        self.result = self.result or GenerationResult(finish_reason="cancelled")
        self._finish("cancelled")
        try:
            asyncio.get_running_loop().run_in_executor(None, self._close_generator)
        except RuntimeError:  # no running loop (interpreter shutdown): close inline
            self._close_generator()

    async def aclose(self) -> None:
        self.cancel()

    def _finish(self, outcome: str) -> None:
        if self._done:
            return
        self._done = True
        if self._on_finish is not None:
            self._on_finish(self, outcome)
