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
  model_args.py     what the model is given: `secrets`, `lazy_data_resolver`, the request object
  model_async.py    the shared event loop for `async def`, generators as streams
  logs.py           stdout/stderr/logging as JSON lines attributed to the current request
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import pathlib
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

from _girder_runner import logs, model_class, model_host  # noqa: E402  (the package exists only from here on)
from _girder_runner.handler import Handler, Replica  # noqa: E402

from _girder_runner.openai_handler import OpenAIHandler  # noqa: E402  (chat_completions, completions)

if __name__ == "__mp_main__":
    # A child of the model's multiprocessing, started with spawn or forkserver: multiprocessing runs
    # this file under that name, with the runner's sys.path, before it unpickles the work, which names
    # the model's functions by module (`model.model.square`). Those imports need the model's package
    # imported as the runner imported it.
    model_dir = pathlib.Path(os.path.abspath(os.environ["GIRDER_MODEL_DIR"]))  # as ModelHost has it
    model_class.import_model_package(model_dir, json.loads(os.environ.get("GIRDER_CONFIG") or "{}"))

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


def _take_stdin() -> int:
    """Girder's end of our stdin, as a descriptor of our own; the model's stdin becomes /dev/null.

    Our own copy, so that what the model does with fd 0 or sys.stdin cannot end the watch; and read
    with os.read, never through sys.stdin: a thread blocked in sys.stdin's read holds that object's
    lock, and a child forked by the model's multiprocessing closes sys.stdin first thing, so it
    would wait for that lock forever."""
    girder = os.dup(0)  # non-inheritable: exec'd children do not get it
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    return girder


def _stop_when_girder_goes(girder: int, stop: threading.Event) -> None:
    try:
        while os.read(girder, 65536):
            pass
    except OSError:
        pass
    stop.set()


def _default_signals() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _end_model_processes(timeout: float) -> None:
    """Ends the processes the model started with multiprocessing (a Pool kept from load(), say).

    os._exit skips multiprocessing's own exit handler, and a child that waits on a Queue holds both
    ends of its pipe, so it would never see us go (and would keep our port and Girder's log pipes
    open)."""
    if "multiprocessing" not in sys.modules:
        return
    import multiprocessing.util

    def end() -> None:
        multiprocessing.util._run_finalizers(0)  # what its exit handler runs first: each Pool's terminate()
        for child in multiprocessing.active_children():
            child.terminate()

    # On a thread of its own, so that a model's child that will not die cannot hold up our exit.
    ender = threading.Thread(target=end, name="girder-end-children", daemon=True)
    ender.start()
    ender.join(timeout)


def main() -> None:
    config = json.loads(os.environ.get("GIRDER_CONFIG") or "{}")
    logs.install(debug=bool((config.get("runtime") or {}).get("enable_debug_logs")))
    port = int(os.environ["PORT"])
    model_dir = os.path.abspath(os.environ["GIRDER_MODEL_DIR"])
    environment = json.loads(os.environ.get("GIRDER_ENVIRONMENT") or "null")
    host = model_host.ModelHost(model_dir, config, os.environ.get("GIRDER_SECRETS_DIR"), environment)
    # Truss models open files relative to the truss directory (e.g. "data/weights.bin").
    os.chdir(model_dir)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # Not in a child the model forks (multiprocessing's fork): there these would set an event no one
    # waits on, so that neither Pool.terminate() nor Girder's stop could end that child.
    os.register_at_fork(after_in_child=_default_signals)
    # Girder holds our stdin open: its end means Girder is gone (even by SIGKILL), so we go too.
    girder = _take_stdin()
    threading.Thread(target=_stop_when_girder_goes, args=(girder, stop), name="girder-parent", daemon=True).start()

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
    _end_model_processes(SHUTDOWN_GRACE_SECONDS)
    logs.flush()
    os._exit(0)  # daemon threads and model threads must not delay the exit


if __name__ == "__main__":
    main()
