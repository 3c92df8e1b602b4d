"""What the runner hands a Truss model besides its config: `secrets` and `lazy_data_resolver` for
Model.__init__, and the request object for methods that ask for one (with the error raised when its
client has gone).
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import re
import select
import socket
import threading
from collections.abc import Mapping
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit


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


class LazyDataResolver:
    """`lazy_data_resolver` for Model.__init__, as Truss's LazyDataResolverV2 is used by models.

    On Baseten it fetches `model_cache` / `weights` files in the background, and
    `block_until_download_complete()` waits for them. Girder fetches nothing lazily: `external_data`
    is downloaded into the data dir when the deployment is built, before any replica starts, and
    `model_cache` / `weights` are not fetched (the push warns). So there is never a download in
    flight, and the call answers at once what Truss answers when there is nothing to resolve: "".
    """

    def __init__(self, data_dir: pathlib.Path):
        self._data_dir = data_dir
        self.collected = False

    def block_until_download_complete(self, log_stats: bool = True, issue_collect: bool = True) -> str:
        self.collected = self.collected or issue_collect
        return ""

    def raise_if_not_collected(self) -> None:
        """Truss raises when lazy data exists and load() never waited for it; here none ever does."""


class Headers(Mapping):
    """Request headers as starlette's Headers: names case-insensitive, `h[name]` the first value,
    `h.getlist(name)` every one, in the order they came."""

    def __init__(self, items):
        self._items = [(name.lower(), value) for name, value in items]

    def __getitem__(self, name: str) -> str:
        key = name.lower() if isinstance(name, str) else name
        for item_name, value in self._items:
            if item_name == key:
                return value
        raise KeyError(name)

    def getlist(self, name: str) -> list:
        key = name.lower()
        return [value for item_name, value in self._items if item_name == key]

    def __iter__(self):
        return iter(dict.fromkeys(name for name, _ in self._items))

    def __len__(self) -> int:
        return len(dict.fromkeys(name for name, _ in self._items))

    def raw_items(self) -> list:
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class URL(str):
    """The request URL as the replica saw it (starlette's URL is a str too): `.path`, `.query`, ..."""

    def __new__(cls, url: str):
        self = super().__new__(cls, url)
        parts = urlsplit(url)
        self.scheme, self.netloc, self.path, self.query = parts.scheme, parts.netloc, parts.path, parts.query
        self.hostname, self.port = parts.hostname, parts.port
        return self


class ClientDisconnected(Exception):
    """The caller went away before a step started (Truss answers 499 and skips the step)."""

    status_code = 499


class ModelRequest:
    """Stands in for the starlette Request Truss passes to `predict(self, inputs, request)`.

    `headers` (case-insensitive), `method`, `url`, `query_params`, `await body()`, `await json()`,
    `await is_disconnected()` (true once the caller went away: Girder closes the replica's connection
    when its client leaves), and Truss's `request.state.watch_disconnect()` for sync code.
    """

    def __init__(self, headers, body: bytes, connection: socket.socket, method: str = "POST", url: str = ""):
        self.headers = headers if isinstance(headers, Headers) else Headers(dict(headers).items())
        self.method = method
        self.url = URL(url)
        self.query_params = dict(parse_qsl(self.url.query))
        self._body = body
        self._connection = connection
        self.state = SimpleNamespace(watch_disconnect=self.watch_disconnect)

    async def body(self) -> bytes:
        return self._body

    async def json(self):
        return json.loads(self._body)

    async def is_disconnected(self) -> bool:
        return self.client_gone()

    @contextlib.contextmanager
    def watch_disconnect(self, interval: float = 0.2):
        """As Truss's `request.state.watch_disconnect()`: a threading.Event set once the client is
        gone, watched on a thread of its own while the block runs, for sync code that cannot await."""
        disconnected = threading.Event()
        done = threading.Event()

        def watch() -> None:
            while not done.wait(interval):
                if self.client_gone():
                    disconnected.set()
                    return

        watcher = threading.Thread(target=watch, name="girder-watch-disconnect", daemon=True)
        watcher.start()
        try:
            yield disconnected
        finally:
            done.set()

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
