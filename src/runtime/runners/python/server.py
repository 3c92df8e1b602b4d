"""Girder's python runner: serves a Truss model directory as a replica.

Started by Girder as `python3 -u server.py` with the environment described in ../PROTOCOL.md
(PORT, GIRDER_MODEL_DIR, GIRDER_CONFIG, GIRDER_SECRETS_DIR, GIRDER_ENVIRONMENT, ...).
Standard library only, Python >= 3.9. This file is the life cycle; the work is done by the files
next to it:

  handler.py        HTTP: the endpoints, responses, streaming
  payloads.py       request bodies (framing, JSON / msgpack / bytes) and response bodies
  msgpack_codec.py  the msgpack subset Truss clients speak
  model_host.py     the Truss side: load the model, run preprocess -> predict -> postprocess
  model_class.py    importing model.py, Model(**kwargs), the method rules Truss checks
  model_args.py     what the model is given: `secrets`, the request object
  model_async.py    the shared event loop for `async def`, generators as streams
  logs.py           stdout/stderr/logging as JSON lines attributed to the current request
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import signal
import sys
import threading
import time
from http.server import ThreadingHTTPServer

RUNNER_DIR = os.path.dirname(os.path.abspath(__file__))

# The model directory is Girder's snapshot of a deployment: never write __pycache__ into it.
sys.dont_write_bytecode = True

# Python put this folder first on sys.path; take it off so our file names can never shadow a
# module the model imports. The files next to this one are a package under a private name instead,
# found by path only, in which they import each other relatively (`from . import logs`).
if sys.path and os.path.abspath(sys.path[0] or ".") == RUNNER_DIR:
    del sys.path[0]
_package = importlib.machinery.ModuleSpec("_girder_runner", None, is_package=True)
_package.submodule_search_locations.append(RUNNER_DIR)
sys.modules[_package.name] = importlib.util.module_from_spec(_package)

from _girder_runner import logs, model_host  # noqa: E402  (the package exists only from here on)
from _girder_runner.handler import Handler, Replica  # noqa: E402

from _girder_runner.openai_handler import OpenAIHandler  # noqa: E402  (chat_completions, completions)

SHUTDOWN_GRACE_SECONDS = 2.0


class ReplicaServer(ThreadingHTTPServer):
    daemon_threads = True  # a stuck model call must not keep the process alive at exit
    block_on_close = False
    request_queue_size = 128


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
    server = ReplicaServer(("127.0.0.1", port), OpenAIHandler)
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
