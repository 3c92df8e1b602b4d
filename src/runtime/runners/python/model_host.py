"""Loads a Truss model directory and runs its methods the way Truss's model_wrapper.py does.

Nothing here speaks HTTP: server.py parses requests and writes responses; this module imports
`model/model.py`, builds the `Model(...)` keyword arguments, and runs preprocess -> predict ->
postprocess (sync or async, plain values or streams).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import importlib
import importlib.util
import inspect
import json
import pathlib
import re
import select
import socket
import sys
import threading
from collections.abc import Mapping


class ModelDefinitionError(Exception):
    """The model class breaks a Truss rule. Answered with 412, as Truss does."""

    status_code = 412

    def __init__(self, message: str):
        super().__init__(message)
        self.detail = f"ModelDefinitionError: {message}"


class ClientDisconnected(Exception):
    """The caller went away before a step started (Truss answers 499 and skips the step)."""

    status_code = 499


# ---------------------------------------------------------------------------------------------
# Secrets


class SecretNotFound(KeyError):
    # A KeyError, so `secrets.get(name)` and `name in secrets` behave as on any Mapping.
    def __str__(self) -> str:
        return str(self.args[0])


class Secrets(Mapping):
    """`secrets` for Model.__init__: one file per secret in GIRDER_SECRETS_DIR, read on access."""

    _VALID_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")

    def __init__(self, secrets_dir, declared):
        self._dir = pathlib.Path(secrets_dir) if secrets_dir else None
        self._declared = set(declared or ())

    def __getitem__(self, name: str) -> str:
        path = self._path(name)
        try:
            if path is not None:
                return path.read_text(encoding="utf-8")
        except (FileNotFoundError, IsADirectoryError):
            pass
        hint = f"Set it with `girder secrets set {name}`"
        if name not in self._declared:
            hint += f" and declare it in config.yaml under `secrets:` ({name}: null)"
        raise SecretNotFound(f"Secret '{name}' is not set. {hint}.")

    def _path(self, name):
        if self._dir is None or not isinstance(name, str) or not self._VALID_NAME.match(name):
            return None
        if name in (".", ".."):
            return None
        return self._dir / name

    def __iter__(self):
        if self._dir is None or not self._dir.is_dir():
            return iter(())
        return iter(sorted(p.name for p in self._dir.iterdir() if p.is_file()))

    def __len__(self) -> int:
        return sum(1 for _ in self)


# ---------------------------------------------------------------------------------------------
# The request object handed to methods that ask for one


class ModelRequest:
    """Stands in for the fastapi Request Truss passes to `predict(self, inputs, request)`.

    Only what stdlib models need: lower-case `headers`, `await body()` and `await is_disconnected()`.
    """

    def __init__(self, headers: dict, body: bytes, connection: socket.socket):
        self.headers = headers
        self._body = body
        self._connection = connection

    async def body(self) -> bytes:
        return self._body

    async def is_disconnected(self) -> bool:
        return self.client_gone()

    def client_gone(self) -> bool:
        # The whole request body was read already, so a readable socket that yields no bytes
        # means the client closed its end.
        try:
            readable, _, _ = select.select([self._connection], [], [], 0)
            if not readable:
                return False
            return self._connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True


def _is_request_annotation(annotation) -> bool:
    # Truss recognises `request: fastapi.Request`; fastapi is not installed here, so go by name
    # (a class named Request, or a string annotation such as "fastapi.Request").
    if isinstance(annotation, str):
        return annotation.rsplit(".", 1)[-1] == "Request"
    return getattr(annotation, "__name__", None) == "Request"


# ---------------------------------------------------------------------------------------------
# Running coroutines


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


# ---------------------------------------------------------------------------------------------
# Streams


def is_stream(value) -> bool:
    return inspect.isgenerator(value) or inspect.isasyncgen(value)


def encode_chunk(item) -> bytes:
    if isinstance(item, (bytes, bytearray, memoryview)):
        return bytes(item)
    if isinstance(item, str):
        return item.encode("utf-8")
    return encode_json(item) + b"\n"


def encode_json(value) -> bytes:
    # allow_nan=False: NaN is not JSON, and Girder's gateway must be able to parse the body.
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


class Stream:
    """A generator returned by the model, pulled chunk by chunk by the server."""

    def __init__(self, generator, runner: AsyncRunner, on_finish):
        self._generator = generator
        self._runner = runner
        self._on_finish = on_finish  # releases the predict semaphore, as Truss does when a stream ends

    def next_chunk(self):
        """The next chunk as bytes, or None at the end. Exceptions from the model propagate."""
        try:
            if inspect.isasyncgen(self._generator):
                item = self._runner.run(self._generator.__anext__())
            else:
                item = next(self._generator)
        except (StopIteration, StopAsyncIteration):
            return None
        return encode_chunk(item)

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


# ---------------------------------------------------------------------------------------------
# The model


class _Method:
    """A model method and which arguments it takes: (), (inputs), (request) or (inputs, request).

    Truss insists the request parameter is annotated `fastapi.Request`; fastapi does not exist
    here, so a second parameter is taken to be the request whatever its annotation."""

    def __init__(self, name: str, function):
        self.name = name
        self.function = function
        parameters = list(inspect.signature(function).parameters.values())
        if len(parameters) > 2:
            raise ModelDefinitionError(
                f"`{name}` method cannot have more than two arguments. Got: {inspect.signature(function)}"
            )
        self.takes_inputs = len(parameters) == 2 or (
            len(parameters) == 1 and not _is_request_annotation(parameters[0].annotation)
        )
        self.takes_request = len(parameters) == 2 or (len(parameters) == 1 and not self.takes_inputs)

    def arguments(self, inputs, request) -> tuple:
        return tuple(arg for arg, wanted in ((inputs, self.takes_inputs), (request, self.takes_request)) if wanted)


class ModelHost:
    def __init__(self, model_dir: str, config: dict, secrets_dir, environment):
        self.model_dir = pathlib.Path(model_dir)
        self.config = config
        self.secrets = Secrets(secrets_dir, (config.get("secrets") or {}).keys())
        self.environment = environment
        concurrency = (config.get("runtime") or {}).get("predict_concurrency") or 1
        self._predict_slots = threading.BoundedSemaphore(max(1, int(concurrency)))
        self._async = AsyncRunner()
        self._model = None
        self._methods: dict = {}
        self.loaded = False

    # -- loading ---------------------------------------------------------------------------------

    def load(self) -> None:
        """Import model.py, instantiate Model, check its methods, run load(). Raises on failure."""
        model_class = self._import_model_class()
        self._model = model_class(**self._init_kwargs(model_class))
        self._methods = self._describe_methods(self._model)
        load = getattr(self._model, "load", None)
        if load is not None:
            self._run(load())
        self.loaded = True

    def _import_model_class(self):
        module_dir = self.config.get("model_module_dir") or "model"
        filename = self.config.get("model_class_filename") or "model.py"
        class_name = self.config.get("model_class_name") or "Model"
        module_path = self.model_dir / module_dir / filename
        if not module_path.is_file():
            raise FileNotFoundError(f"No model class file at {module_path}")

        # Truss runs with the truss directory on sys.path, so `from model.helpers import x` works;
        # bundled `packages/` is on the path too. We also add the module dir itself so a flat
        # `import helpers` next to model.py works, as when running `python model/model.py`.
        sys.path.insert(0, str(self.model_dir))
        packages_dir = self.model_dir / (self.config.get("bundled_packages_dir") or "packages")
        if packages_dir.is_dir():
            sys.path.insert(1, str(packages_dir))
        package = ".".join(pathlib.PurePath(module_dir).parts)
        stem = pathlib.PurePath(filename).stem
        if all(part.isidentifier() for part in (package + "." + stem).split(".")):
            # Import the package before the module dir is on sys.path: afterwards `model` would
            # resolve to model/model.py instead of the model/ directory.
            importlib.import_module(package)
            sys.path.insert(0, str(module_path.parent))
            module = importlib.import_module(f"{package}.{stem}")
        else:
            sys.path.insert(0, str(module_path.parent))
            spec = importlib.util.spec_from_file_location(stem, module_path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[stem] = module  # dataclasses and pickle look modules up by name
            spec.loader.exec_module(module)

        model_class = getattr(module, class_name, None)
        if model_class is None:
            raise ModelDefinitionError(f"{module_path} defines no class `{class_name}`.")
        return model_class

    def _init_kwargs(self, model_class) -> dict:
        available = {
            "config": self.config,
            "data_dir": self.model_dir / (self.config.get("data_dir") or "data"),
            "secrets": self.secrets,
            "environment": self.environment,
        }
        parameters = inspect.signature(model_class).parameters
        if any(p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            return available
        return {name: value for name, value in available.items() if name in parameters}

    @staticmethod
    def _describe_methods(model) -> dict:
        # The rules Truss checks before load(); breaking one fails the load.
        methods = {
            name: _Method(name, getattr(model, name))
            for name in ("preprocess", "predict", "postprocess", "is_healthy")
            if callable(getattr(model, name, None))
        }
        if "predict" not in methods:
            raise ModelDefinitionError("Truss model must have a `predict` method.")
        if "preprocess" in methods and methods["predict"].takes_request and not methods["predict"].takes_inputs:
            raise ModelDefinitionError(
                "When using `preprocess`, the predict method cannot only have the request argument "
                "(because the result of `preprocess` would be discarded)."
            )
        post = methods.get("postprocess")
        if post is not None and post.takes_request and not post.takes_inputs:
            raise ModelDefinitionError(
                "The `postprocess` method cannot only have the request argument "
                "(because the result of `predict` would be discarded)."
            )
        healthy = methods.get("is_healthy")
        if healthy is not None and (healthy.takes_inputs or healthy.takes_request):
            raise ModelDefinitionError("`is_healthy` must have only one argument: `self`.")
        return methods

    # -- serving ---------------------------------------------------------------------------------

    @property
    def parses_input(self) -> bool:
        """False when predict (and preprocess) only take the request: Truss then skips body parsing."""
        def request_only(method) -> bool:
            return method.takes_request and not method.takes_inputs

        preprocess = self._methods.get("preprocess")
        skip = request_only(self._methods["predict"]) and (preprocess is None or request_only(preprocess))
        return not skip

    def is_healthy(self) -> bool:
        method = self._methods.get("is_healthy")
        return True if method is None else bool(self._run(method.function()))

    def run_pipeline(self, inputs, request: ModelRequest):
        """preprocess -> predict -> postprocess. Returns a plain value, bytes, or a Stream."""
        preprocess = self._methods.get("preprocess")
        postprocess = self._methods.get("postprocess")
        if preprocess is not None:
            inputs = self._call(preprocess, inputs, request)

        # Like Truss, predict_concurrency bounds predict only, not pre/postprocess; a stream
        # keeps its slot until the generator ends.
        self._predict_slots.acquire()
        release = self._predict_slots.release
        try:
            output = self._call(self._methods["predict"], inputs, request)
            if is_stream(output):
                if postprocess is not None:
                    Stream(output, self._async, None).close()
                    raise ModelDefinitionError(
                        "If the predict function returns a generator (streaming), you cannot use "
                        "postprocessing. Include all processing in the predict method."
                    )
                stream, release = Stream(output, self._async, release), None
                return stream
        finally:
            if release is not None:
                release()

        if postprocess is not None:
            output = self._call(postprocess, output, request)
            if is_stream(output):
                return Stream(output, self._async, None)
        return output

    def _call(self, method: _Method, inputs, request: ModelRequest):
        if request.client_gone():
            raise ClientDisconnected(f"Client disconnected, skipping `{method.name}`.")
        return self._run(method.function(*method.arguments(inputs, request)))

    def _run(self, result):
        """Sync methods already ran; `async def` ones return a coroutine, run on the shared loop."""
        if inspect.isawaitable(result):
            return self._async.run(result)
        return result
