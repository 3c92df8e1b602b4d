"""The replica's HTTP side: the Truss server's endpoints (see ../PROTOCOL.md), answered by a
BaseHTTPRequestHandler per connection. Bodies are decoded and encoded by payloads.py; the model runs
in model_host.py.
"""

from __future__ import annotations

import re
import socket
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from . import logs, payloads
from .model_args import ClientDisconnected, Headers, ModelRequest
from .model_async import Stream
from .model_class import ModelDefinitionError

# X-BASETEN-ERROR-SOURCE 04 = the truss server; code 600 = the model's fault, 700 = the client's.
MODEL_ERROR_HEADERS = {"X-BASETEN-ERROR-SOURCE": "04", "X-BASETEN-ERROR-CODE": "600"}
CLIENT_ERROR_HEADERS = {"X-BASETEN-ERROR-SOURCE": "04", "X-BASETEN-ERROR-CODE": "700"}
NOT_READY = {"error": "Model with name model is not ready."}
# Marks an answer the runner gave itself, where no model code ran, so that Girder does not report it
# as the model's error (../PROTOCOL.md, "Errors of the runner itself").
RUNNER_ERROR_HEADER = "x-girder-runner-error"

# Truss accepts any model name in these paths; Girder always uses "model".
READINESS_PATH = re.compile(r"^/v1/models/[^/:]+$")
LOADED_PATH = re.compile(r"^/v1/models/[^/:]+/loaded$")
PREDICT_PATH = re.compile(r"^/v1/models/[^/:]+:predict$")
# Each path the runner serves, with the one method it takes there.
ROUTES = ((re.compile(r"^/$"), "GET"), (READINESS_PATH, "GET"), (LOADED_PATH, "GET"), (PREDICT_PATH, "POST"))
SERVED = "GET /, GET /v1/models/model, GET /v1/models/model/loaded and POST /v1/models/model:predict"


class Replica:
    """What the handlers share: the model, and how many requests are in flight (for shutdown)."""

    def __init__(self, host):
        self.host = host
        self._in_flight = 0
        self._idle = threading.Condition()

    def request_started(self) -> None:
        with self._idle:
            self._in_flight += 1

    def request_finished(self) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> None:
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def is_ready(self) -> bool:
        if not self.host.loaded:
            return False
        try:
            healthy = self.host.is_healthy()
        except Exception:
            logs.exception("Exception while checking if model is healthy")
            healthy = False
        if not healthy:
            logs.warning("Health check failed.")
        return healthy


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every response has Content-Length or is chunked
    disable_nagle_algorithm = True  # stream chunks leave at once
    replica: Replica  # set in server.main()

    def log_message(self, format, *args) -> None:
        pass  # Girder logs requests itself; one line per probe would drown the model's output

    def send_response(self, code, message=None) -> None:
        # As http.server's, without its Server header: on /sync/ routes that header reaches clients,
        # naming the runner and its Python version.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def send_error(self, code, message=None, explain=None) -> None:
        # http.server's own refusals (a request line or headers it cannot read) are the runner's
        # errors too: an ErrorResponse, not its HTML page.
        self.close_connection = True
        phrase, explanation = self.responses.get(code, ("Bad Request", "The request could not be read."))
        self._send_runner_error(code, "client_error", message or phrase, explain or explanation)

    def __getattr__(self, name: str):
        # http.server calls do_<METHOD>: every method comes to _route, so that a PUT or a DELETE gets
        # our 405 or 404 rather than http.server's 501 page.
        if name.startswith("do_"):
            return self._route
        raise AttributeError(name)

    # -- routes ----------------------------------------------------------------------------------

    def _route(self) -> None:
        path = urlsplit(self.path).path
        allowed = next((method for pattern, method in ROUTES if pattern.match(path)), None)
        if allowed == "POST" and self.command == "POST":
            self._serve_predict()
            return
        if self.headers.get("Content-Length", "0") != "0" or self.headers.get("Transfer-Encoding"):
            self.close_connection = True  # an unexpected body we do not read: the connection cannot be reused
        if allowed is None:
            message = f"The model server has no route {path}."
            self._send_runner_error(404, "model_does_not_exist", message, f"It serves {SERVED}.")
        elif allowed != self.command:
            message = f"{path} does not take {self.command}."
            self._send_runner_error(405, "client_error", message, f"Use {allowed} {path}.", {"Allow": allowed})
        elif path == "/":
            self._send_json(200, True)
        elif READINESS_PATH.match(path):
            if self.replica.is_ready():
                self._send_json(200, {})
            else:
                self._send_json(503, NOT_READY, MODEL_ERROR_HEADERS)
        elif self.replica.host.loaded:
            self._send_json(200, {})
        else:
            self._send_json(503, NOT_READY, MODEL_ERROR_HEADERS)

    def _serve_predict(self) -> None:
        self.replica.request_started()
        try:
            with logs.request_scope(self.headers.get("x-baseten-request-id")):
                self._predict()
        finally:
            self.replica.request_finished()

    # -- predict ---------------------------------------------------------------------------------

    def _predict(self) -> None:
        try:
            body = payloads.read_body(self.rfile, self.headers)
        except (payloads.BadRequest, ValueError) as error:
            self.close_connection = True
            self._send_bad_body(f"Bad request body: {error}")
            return
        host = self.replica.host
        if not host.loaded:
            detail = "Wait until readiness (GET /v1/models/model) answers 200: load() has not finished."
            self._send_runner_error(503, "model_not_ready", NOT_READY["error"], detail)
            return

        content_type = payloads.media_type(self.headers.get("Content-Type"))
        inputs = body
        if host.parses_input:
            try:
                inputs = payloads.decode_inputs(body, content_type)
            except payloads.InvalidPayload as error:
                self._send_bad_body(str(error))
                return

        request = self._model_request(body)
        try:
            output = host.run_pipeline(inputs, request)
            if isinstance(output, Stream) and self._should_gather():
                self._send(200, payloads.encode_json(self._gather(output)), "application/json")
            elif isinstance(output, Stream):
                self._send_stream(output)
            else:
                self._send(200, *payloads.encode_output(output, content_type == payloads.MSGPACK))
        except Exception as error:
            self._send_model_error(error)

    def _model_request(self, body: bytes) -> ModelRequest:
        host, port = self.server.server_address[:2]
        url = f"http://{self.headers.get('Host') or f'{host}:{port}'}{self.path}"
        return ModelRequest(Headers(self.headers.items()), body, self.connection, self.command, url)

    def _send_model_error(self, error: Exception) -> None:
        status = getattr(error, "status_code", None)
        if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
            status = 500
        detail = getattr(error, "detail", None)  # fastapi's HTTPException carries its message here
        message = detail if detail is not None else (str(error) or type(error).__name__)
        if isinstance(error, (ModelDefinitionError, ClientDisconnected)):
            logs.warning(str(message))
        else:
            logs.exception(f"Exception while running the model: {message}")
        self._send_json(status, {"error": message}, MODEL_ERROR_HEADERS)

    def _should_gather(self) -> bool:
        """Truss's quirk: a client asking for JSON gets a stream joined into one JSON string, except the
        OpenAI SDK, which asks for JSON even when it streams. (Girder forwards no User-Agent to replicas,
        so through the gateway only the Accept header decides.)"""
        if "openai" in (self.headers.get("User-Agent") or "").lower():
            return False
        return (self.headers.get("Accept") or "").strip().lower() == "application/json"

    @staticmethod
    def _gather(stream) -> str:
        try:
            parts = []
            while (chunk := stream.next_chunk()) is not None:
                parts.append(chunk)
            return b"".join(parts).decode("utf-8", errors="replace")
        finally:
            stream.close()

    def _send_stream(self, stream, content_type: str = "application/octet-stream", headers=()) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while True:
                try:
                    chunk = stream.next_chunk()
                except Exception:
                    # The status line is gone already: end abruptly so the client sees a broken stream.
                    logs.exception("Exception while generating streamed response")
                    self._drop_connection()
                    return
                if chunk is None:
                    break
                if chunk:  # an empty chunk would mean "end of body" in chunked encoding
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            logs.warning("Client disconnected during a streamed response; closing the generator.")
            self.close_connection = True
        finally:
            try:
                stream.close()
            except Exception:  # a generator whose `finally` raises; the response is already gone
                logs.exception("Exception while closing the model's generator")

    def _drop_connection(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- plumbing --------------------------------------------------------------------------------

    def _send_bad_body(self, message: str) -> None:
        detail = "Send JSON, or msgpack with Content-Type: application/octet-stream."
        self._send_runner_error(400, "client_error", message, detail, CLIENT_ERROR_HEADERS)

    def _send_runner_error(self, status: int, error_code: str, error: str, detail: str, headers=None) -> None:
        """An ErrorResponse the runner gives itself; error_code is one of ../PROTOCOL.md's."""
        body = {"error": error, "error_code": error_code, "detail": detail}
        self._send_json(status, body, {RUNNER_ERROR_HEADER: error_code, **(headers or {})})

    def _send_json(self, status: int, value, headers=None) -> None:
        self._send(status, payloads.encode_json(value), "application/json", headers)

    def _send(self, status: int, body: bytes, content_type: str, headers=None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")  # tell a keep-alive client not to reuse it
            self.end_headers()
            if self.command != "HEAD":  # a HEAD answer has no body, whatever its Content-Length says
                self.wfile.write(body)
        except OSError:
            self.close_connection = True  # the client is gone; nothing left to tell it
