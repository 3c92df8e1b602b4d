"""Truss's OpenAI-compatible model methods: POST /v1/chat/completions calls the model's
`chat_completions(inputs, request)` and POST /v1/completions its `completions`, with the parsed body
and no pre- or postprocess, bounded by predict_concurrency like predict. A returned value is the JSON
answer; a generator streams as Server-Sent Events: a str or bytes chunk is written as the model
wrote it, anything else as one `data:` event (JSON), and a stream of such events ends with
`data: [DONE]`. Everything else goes to the Truss endpoints of handler.py.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from . import logs, payloads
from .handler import NOT_READY, Handler
from .model_async import Stream

METHODS = {"/v1/chat/completions": "chat_completions", "/v1/completions": "completions"}


class EventStream(Stream):
    """A model's generator as SSE: objects become `data:` events, and the stream then ends with [DONE]."""

    def __init__(self, generator, runner, on_finish):
        super().__init__(generator, runner, on_finish)
        self.framed = False
        self._done = False

    def next_chunk(self):
        if self._done:
            return None
        item = self.next_item()
        if item is Stream.END:
            self._done = True
            return b"data: [DONE]\n\n" if self.framed else None
        if isinstance(item, (bytes, bytearray, memoryview)):
            return bytes(item)
        if isinstance(item, str):
            return item.encode("utf-8")
        self.framed = True
        return b"data: " + payloads.encode_json(item) + b"\n\n"


class OpenAIHandler(Handler):
    def do_POST(self) -> None:
        name = METHODS.get(urlsplit(self.path).path)
        if name is None:
            self._route()  # handler.py's own routes
            return
        self.replica.request_started()
        try:
            with logs.request_scope(self.headers.get("x-baseten-request-id")):
                self._serve_method(name)
        finally:
            self.replica.request_finished()

    def _serve_method(self, name: str) -> None:
        try:
            body = payloads.read_body(self.rfile, self.headers)
        except (payloads.BadRequest, ValueError) as error:
            self.close_connection = True
            self._send_bad_body(f"Bad request body: {error}")
            return
        # Until the model runs, every refusal is the runner's own error (../PROTOCOL.md).
        host = self.replica.host
        if not host.loaded:
            self._send_runner_error(503, "model_not_ready", NOT_READY["error"], "Retry shortly: load() has not finished.")
            return
        if not host.has_method(name):
            detail = f"Define {name}(self, model_input, request) on the model class to serve {self.path}."
            self._send_runner_error(404, "model_does_not_exist", f"The model has no `{name}` method.", detail)
            return
        try:
            inputs = payloads.decode_inputs(body, payloads.media_type(self.headers.get("Content-Type")))
        except payloads.InvalidPayload as error:
            self._send_bad_body(str(error))
            return
        try:
            output = host.run_method(name, inputs, self._model_request(body), EventStream)
            if isinstance(output, Stream):
                self._send_events(output)
            else:
                self._send(200, payloads.encode_json(output), "application/json")
        except Exception as error:
            self._send_model_error(error)

    def _send_events(self, stream: Stream) -> None:
        """Server-sent events, chunk by chunk, as the runner streams any answer."""
        self._send_stream(stream, "text/event-stream", (("Cache-Control", "no-cache"),))
