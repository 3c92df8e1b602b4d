"""Finding and checking a Truss model class, as Truss's model_wrapper.py does.

`import_model_class` imports `model/model.py` (or what config.yaml names) the way Truss sets up
sys.path; `init_kwargs` picks the `Model(...)` keyword arguments the class declares; and
`describe_methods` checks preprocess / predict / postprocess / is_healthy against Truss's rules,
noting which of (inputs, request) each one takes.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pathlib
import sys


class ModelDefinitionError(Exception):
    """The model class breaks a Truss rule. Answered with 412, as Truss does."""

    status_code = 412

    def __init__(self, message: str):
        super().__init__(message)
        self.detail = f"ModelDefinitionError: {message}"


def import_model_class(model_dir: pathlib.Path, config: dict):
    class_name = config.get("model_class_name") or "Model"
    module_path = _module_path(model_dir, config)
    if not module_path.is_file():
        raise FileNotFoundError(f"No model class file at {module_path}")

    # Truss runs with the truss directory on sys.path, so `from model.helpers import x` works;
    # bundled `packages/` is on the path too. We also add the module dir itself so a flat
    # `import helpers` next to model.py works, as when running `python model/model.py`.
    sys.path.insert(0, str(model_dir))
    packages_dir = model_dir / (config.get("bundled_packages_dir") or "packages")
    if packages_dir.is_dir():
        sys.path.insert(1, str(packages_dir))
    package, stem = _module_name(config)
    if package is not None:
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


def _module_path(model_dir: pathlib.Path, config: dict) -> pathlib.Path:
    return model_dir / (config.get("model_module_dir") or "model") / (config.get("model_class_filename") or "model.py")


def _module_name(config: dict):
    """(package, module) of the model file, e.g. ("model", "model"); package None if not importable by name."""
    package = ".".join(pathlib.PurePath(config.get("model_module_dir") or "model").parts)
    stem = pathlib.PurePath(config.get("model_class_filename") or "model.py").stem
    if all(part.isidentifier() for part in (package + "." + stem).split(".")):
        return package, stem
    return None, stem


def import_model_package(model_dir: pathlib.Path, config: dict) -> None:
    """Imports the model's package in a multiprocessing child (spawn, forkserver), whose sys.path is
    the runner's: the module dir comes first there, so `model` alone would be model/model.py."""
    package, _ = _module_name(config)
    if package is None:
        return
    module_dir = str(_module_path(model_dir, config).parent)
    saved = list(sys.path)
    sys.path[:] = [entry for entry in saved if entry != module_dir]
    try:
        importlib.import_module(package)
    finally:
        sys.path[:] = saved


def init_kwargs(model_class, available: dict) -> dict:
    """All of `available` for a Model(**kwargs); otherwise only the arguments Model.__init__ names."""
    parameters = inspect.signature(model_class).parameters
    if any(p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return available
    return {name: value for name, value in available.items() if name in parameters}


def _is_request_annotation(annotation) -> bool:
    # Truss recognises `request: fastapi.Request`; fastapi is not installed here, so go by name
    # (a class named Request, or a string annotation such as "fastapi.Request").
    if isinstance(annotation, str):
        return annotation.rsplit(".", 1)[-1] == "Request"
    return getattr(annotation, "__name__", None) == "Request"


class Method:
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

    @property
    def request_only(self) -> bool:
        return self.takes_request and not self.takes_inputs

    def arguments(self, inputs, request) -> tuple:
        return tuple(arg for arg, wanted in ((inputs, self.takes_inputs), (request, self.takes_request)) if wanted)


def describe_methods(model) -> dict:
    """The model's methods by name. Raises ModelDefinitionError on a rule Truss checks before load()."""
    methods = {
        name: Method(name, getattr(model, name))
        for name in ("preprocess", "predict", "postprocess", "is_healthy")
        if callable(getattr(model, name, None))
    }
    if "predict" not in methods:
        raise ModelDefinitionError("Truss model must have a `predict` method.")
    if "preprocess" in methods and methods["predict"].request_only:
        raise ModelDefinitionError(
            "When using `preprocess`, the predict method cannot only have the request argument "
            "(because the result of `preprocess` would be discarded)."
        )
    post = methods.get("postprocess")
    if post is not None and post.request_only:
        raise ModelDefinitionError(
            "The `postprocess` method cannot only have the request argument "
            "(because the result of `predict` would be discarded)."
        )
    healthy = methods.get("is_healthy")
    if healthy is not None and (healthy.takes_inputs or healthy.takes_request):
        raise ModelDefinitionError("`is_healthy` must have only one argument: `self`.")
    return methods
