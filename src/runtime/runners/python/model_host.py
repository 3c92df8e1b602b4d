"""The loaded Truss model, run the way Truss's model_wrapper.py runs it.

Nothing here speaks HTTP: handler.py reads requests and writes responses. ModelHost loads the model
(model_class.py finds and checks the class, model_args.py holds what it is given) and runs
preprocess -> predict -> postprocess, sync or async (model_async.py), plain values or streams.
"""

from __future__ import annotations

import inspect
import pathlib
import threading

from .model_args import ClientDisconnected, LazyDataResolver, ModelRequest, Secrets
from .model_async import AsyncRunner, Stream, is_stream
from .model_class import Method, ModelDefinitionError, describe_methods, import_model_class, init_kwargs


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
        model_class = import_model_class(self.model_dir, self.config)
        data_dir = self.model_dir / (self.config.get("data_dir") or "data")
        # What Truss's server passes, each only if __init__ names it or takes **kwargs (init_kwargs).
        available = {
            "config": self.config,
            "data_dir": data_dir,
            "secrets": self.secrets,
            "environment": self.environment,
            "lazy_data_resolver": LazyDataResolver(data_dir),
        }
        self._model = model_class(**init_kwargs(model_class, available))
        # The rules Truss checks before load(); breaking one fails the load.
        self._methods = describe_methods(self._model)
        # As Truss: setup_environment(environment) before load() when the deployment serves one.
        setup = getattr(self._model, "setup_environment", None)
        if callable(setup) and self.environment:
            self._run(setup(self.environment))
        load = getattr(self._model, "load", None)
        if load is not None:
            self._run(load())
        self.loaded = True

    # -- serving ---------------------------------------------------------------------------------

    @property
    def parses_input(self) -> bool:
        """False when predict (and preprocess) only take the request: Truss then skips body parsing."""
        preprocess = self._methods.get("preprocess")
        skip = self._methods["predict"].request_only and (preprocess is None or preprocess.request_only)
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

    def has_method(self, name: str) -> bool:
        return callable(getattr(self._model, name, None))

    def run_method(self, name: str, inputs, request: ModelRequest, stream_class=Stream):
        """An OpenAI-compatible method (`chat_completions`, `completions`), as Truss runs it: no
        preprocess or postprocess, bounded by predict_concurrency like predict. A plain value, or a
        `stream_class` over the generator it returned (which keeps the slot until it ends)."""
        method = Method(name, getattr(self._model, name))
        self._predict_slots.acquire()
        release = self._predict_slots.release
        try:
            output = self._call(method, inputs, request)
            if is_stream(output):
                stream, release = stream_class(output, self._async, release), None
                return stream
            return output
        finally:
            if release is not None:
                release()

    def _call(self, method: Method, inputs, request: ModelRequest):
        if request.client_gone():
            raise ClientDisconnected(f"Client disconnected, skipping `{method.name}`.")
        return self._run(method.function(*method.arguments(inputs, request)))

    def _run(self, result):
        """Sync methods already ran; `async def` ones return a coroutine, run on the shared loop."""
        if inspect.isawaitable(result):
            return self._async.run(result)
        return result
