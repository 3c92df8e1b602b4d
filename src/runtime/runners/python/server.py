"""Girder's python runner: serves a Truss model directory as a replica.

Started by Girder as `python3 -u server.py` with the environment described in ../PROTOCOL.md
(PORT, GIRDER_MODEL_DIR, GIRDER_CONFIG, GIRDER_SECRETS_DIR, GIRDER_ENVIRONMENT, ...).
Standard library only, Python >= 3.9. The work is split in three files next to this one:

  server.py      HTTP: endpoints, request bodies, responses, streaming, life cycle
  model_host.py  the Truss side: importing model.py, Model(**kwargs), pre/predict/post
  logs.py        stdout/stderr/logging as JSON lines attributed to the current request
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

RUNNER_DIR = os.path.dirname(os.path.abspath(__file__))

# The model directory is Girder's snapshot of a deployment: never write __pycache__ into it.
sys.dont_write_bytecode = True

# Python put this folder first on sys.path; take it off so our file names can never shadow a
# module the model imports. The siblings are loaded by path under private names instead.
if sys.path and os.path.abspath(sys.path[0] or ".") == RUNNER_DIR:
    del sys.path[0]


def _load_sibling(name: str):
    spec = importlib.util.spec_from_file_location(f"_girder_runner_{name}", os.path.join(RUNNER_DIR, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


logs = _load_sibling("logs")
model_host = _load_sibling("model_host")
msgpack_codec = _load_sibling("msgpack_codec")

# X-BASETEN-ERROR-SOURCE 04 = the truss server; code 600 = the model's fault, 700 = the client's.
MODEL_ERROR_HEADERS = {"X-BASETEN-ERROR-SOURCE": "04", "X-BASETEN-ERROR-CODE": "600"}
CLIENT_ERROR_HEADERS = {"X-BASETEN-ERROR-SOURCE": "04", "X-BASETEN-ERROR-CODE": "700"}
NOT_READY = {"error": "Model with name model is not ready."}

# Truss accepts any model name in these paths; Girder always uses "model".
READINESS_PATH = re.compile(r"^/v1/models/[^/:]+$")
LOADED_PATH = re.compile(r"^/v1/models/[^/:]+/loaded$")
PREDICT_PATH = re.compile(r"^/v1/models/[^/:]+:predict$")

SHUTDOWN_GRACE_SECONDS = 2.0



def _is_binary(content_type: str) -> bool:
    """As Truss: every body is JSON (curl -d says form-urlencoded) except binary media types."""
    return content_type == "application/octet-stream" or content_type.split("/")[0] in ("image", "audio", "video")

class BadRequest(Exception):
    pass


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
    server_version = "girder-python-runner"
    disable_nagle_algorithm = True  # stream chunks leave at once
    replica: Replica  # set in main()

    def log_message(self, format, *args) -> None:
        pass  # Girder logs requests itself; one line per probe would drown the model's output

    # -- routes ----------------------------------------------------------------------------------

    def do_GET(self) -> None:
        if self.headers.get("Content-Length", "0") != "0" or self.headers.get("Transfer-Encoding"):
            self.close_connection = True  # an unexpected body we do not read: the connection cannot be reused
        path = urlsplit(self.path).path
        if path == "/":
            self._send_json(200, True)
        elif READINESS_PATH.match(path):
            if self.replica.is_ready():
                self._send_json(200, {})
            else:
                self._send_json(503, NOT_READY, MODEL_ERROR_HEADERS)
        elif LOADED_PATH.match(path):
            if self.replica.host.loaded:
                self._send_json(200, {})
            else:
                self._send_json(503, NOT_READY, MODEL_ERROR_HEADERS)
        else:
            self._send_json(404, {"error": "Not Found"})

    def do_POST(self) -> None:
        if not PREDICT_PATH.match(urlsplit(self.path).path):
            self.close_connection = True  # the body was not read
            self._send_json(404, {"error": "Not Found"})
            return
        self.replica.request_started()
        try:
            with logs.request_scope(self.headers.get("x-baseten-request-id")):
                self._predict()
        finally:
            self.replica.request_finished()

    # -- predict ---------------------------------------------------------------------------------

    def _predict(self) -> None:
        try:
            body = self._read_body()
        except (BadRequest, ValueError) as error:
            self.close_connection = True
            self._send_json(400, {"error": f"Bad request body: {error}"}, CLIENT_ERROR_HEADERS)
            return
        host = self.replica.host
        if not host.loaded:
            self._send_json(503, NOT_READY, MODEL_ERROR_HEADERS)
            return

        inputs = body
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        # As Truss: an octet-stream body is msgpack both ways; other binary media types arrive as bytes.
        use_msgpack = content_type == "application/octet-stream"
        if host.parses_input and use_msgpack:
            try:
                inputs = msgpack_codec.unpackb(body)
            except ValueError as error:
                self._send_json(400, {"error": f"Invalid msgpack payload: {error}"}, CLIENT_ERROR_HEADERS)
                return
        elif host.parses_input and not _is_binary(content_type):
            try:
                inputs = json.loads(body)
            except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
                self._send_json(400, {"error": f"Invalid JSON payload: {error}"}, CLIENT_ERROR_HEADERS)
                return

        headers = {}
        for name, value in self.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        request = model_host.ModelRequest(headers, body, self.connection)

        try:
            output = host.run_pipeline(inputs, request)
            if isinstance(output, model_host.Stream) and self._should_gather():
                self._send(200, model_host.encode_json(self._gather(output)), "application/json")
            elif isinstance(output, model_host.Stream):
                self._send_stream(output)
            elif use_msgpack:
                self._send(200, msgpack_codec.packb(output), "application/octet-stream")
            elif isinstance(output, (bytes, bytearray, memoryview)):
                self._send(200, bytes(output), "application/octet-stream")
            else:
                self._send(200, model_host.encode_json(output), "application/json")
        except Exception as error:
            self._send_model_error(error)

    def _send_model_error(self, error: Exception) -> None:
        status = getattr(error, "status_code", None)
        if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
            status = 500
        detail = getattr(error, "detail", None)  # fastapi's HTTPException carries its message here
        message = detail if detail is not None else (str(error) or type(error).__name__)
        if isinstance(error, (model_host.ModelDefinitionError, model_host.ClientDisconnected)):
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

    def _send_stream(self, stream) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
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

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked_body()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise BadRequest("negative Content-Length")
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            raise BadRequest("body shorter than Content-Length")
        return body

    def _read_chunked_body(self) -> bytes:
        parts = []
        while True:
            size_line = self.rfile.readline(65537)
            if not size_line:
                raise BadRequest("truncated chunked body")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF after each chunk

    def _send_json(self, status: int, value, headers=None) -> None:
        self._send(status, model_host.encode_json(value), "application/json", headers)

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
            self.wfile.write(body)
        except OSError:
            self.close_connection = True  # the client is gone; nothing left to tell it


class ReplicaServer(ThreadingHTTPServer):
    daemon_threads = True  # a stuck model call must not keep the process alive at exit
    block_on_close = False
    request_queue_size = 128


# -------------------------------------------------------------------------------------------------
# Life cycle


def load_model_or_exit(host) -> None:
    logs.info("Executing model.load()...")
    started = time.monotonic()
    try:
        host.load()
    except BaseException:
        # Girder restarts the replica with backoff; a half-loaded model must not serve.
        logs.exception("Exception while loading model")
        logs.flush()
        os._exit(1)
    logs.info(f"Completed model.load() execution in {int((time.monotonic() - started) * 1000)} ms")


def _stop_when_stdin_closes(stop: threading.Event) -> None:
    try:
        while sys.stdin.buffer.read(65536):
            pass
    except (OSError, ValueError):
        pass
    stop.set()


def main() -> None:
    logs.install()
    port = int(os.environ["PORT"])
    model_dir = os.path.abspath(os.environ["GIRDER_MODEL_DIR"])
    config = json.loads(os.environ.get("GIRDER_CONFIG") or "{}")
    environment = json.loads(os.environ.get("GIRDER_ENVIRONMENT") or "null")
    host = model_host.ModelHost(model_dir, config, os.environ.get("GIRDER_SECRETS_DIR"), environment)
    # Truss models open files relative to the truss directory (e.g. "data/weights.bin").
    os.chdir(model_dir)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # Girder holds our stdin open: its end means Girder is gone (even by SIGKILL), so we go too.
    threading.Thread(target=_stop_when_stdin_closes, args=(stop,), name="girder-parent", daemon=True).start()

    Handler.replica = Replica(host)
    server = ReplicaServer(("127.0.0.1", port), Handler)
    # A short poll interval keeps server.shutdown() (on SIGTERM) quick.
    threading.Thread(target=server.serve_forever, args=(0.1,), name="girder-http", daemon=True).start()
    logs.info(f"Girder python runner listening on 127.0.0.1:{port}")
    # Listen first, load after: readiness answers 503 while load() runs.
    threading.Thread(target=load_model_or_exit, args=(host,), name="girder-load", daemon=True).start()

    while not stop.wait(0.5):
        pass
    logs.info("Stop signal received, shutting down")
    server.shutdown()  # stop accepting
    server.server_close()
    Handler.replica.wait_idle(SHUTDOWN_GRACE_SECONDS)  # let short in-flight predicts answer
    logs.flush()
    os._exit(0)  # daemon threads and model threads must not delay the exit


if __name__ == "__main__":
    main()
