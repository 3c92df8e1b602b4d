"""Running a model's `async def` methods and pulling its generators, as Truss does.

AsyncRunner is the one event loop all coroutines run on; Stream wraps a generator (sync or async) the
model returned, so that the HTTP side can pull it chunk by chunk and close it when the client leaves.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
import threading

from .payloads import encode_json


class AsyncRunner:
    """One event loop on a daemon thread, shared by all requests.

    Truss runs every `async def` of a model on its server's single loop, so models may create
    asyncio objects (locks, queues, background tasks) in one call and use them in the next. A loop
    per request would break that. Handler threads block on the result, and the coroutine runs in a
    copy of the handler's contextvars, which carries the request id for logging.
    """

    def __init__(self):
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="girder-asyncio", daemon=True).start()

    def run(self, awaitable):
        context = contextvars.copy_context()
        outcome: concurrent.futures.Future = concurrent.futures.Future()

        async def await_it():
            return await awaitable

        def copy_outcome(task: asyncio.Task) -> None:
            if task.cancelled():
                outcome.cancel()
            elif task.exception() is not None:
                outcome.set_exception(task.exception())
            else:
                outcome.set_result(task.result())

        def start() -> None:
            task = context.run(self._loop.create_task, await_it())
            task.add_done_callback(copy_outcome)

        self._loop.call_soon_threadsafe(start)
        return outcome.result()


def is_stream(value) -> bool:
    return inspect.isgenerator(value) or inspect.isasyncgen(value)


def encode_chunk(item) -> bytes:
    if isinstance(item, (bytes, bytearray, memoryview)):
        return bytes(item)
    if isinstance(item, str):
        return item.encode("utf-8")
    return encode_json(item) + b"\n"


class Stream:
    """A generator returned by the model, pulled chunk by chunk by the server."""

    def __init__(self, generator, runner: AsyncRunner, on_finish):
        self._generator = generator
        self._runner = runner
        self._on_finish = on_finish  # releases the predict semaphore, as Truss does when a stream ends

    def next_chunk(self):
        """The next chunk as bytes, or None at the end. Exceptions from the model propagate."""
        item = self.next_item()
        return None if item is Stream.END else encode_chunk(item)

    END = object()

    def next_item(self):
        """The next item the generator yields, as it is, or Stream.END at the end."""
        try:
            if inspect.isasyncgen(self._generator):
                return self._runner.run(self._generator.__anext__())
            return next(self._generator)
        except (StopIteration, StopAsyncIteration):
            return Stream.END

    def close(self) -> None:
        """Stop the generator (runs its `finally`), e.g. because the client went away."""
        try:
            if inspect.isasyncgen(self._generator):
                self._runner.run(self._generator.aclose())
            else:
                self._generator.close()
        finally:
            on_finish, self._on_finish = self._on_finish, None
            if on_finish is not None:
                on_finish()
