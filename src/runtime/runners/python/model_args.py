"""What the runner hands a Truss model besides its config: `secrets` for Model.__init__, and the
request object for methods that ask for one (with the error raised when its client has gone).
"""

from __future__ import annotations

import pathlib
import re
import select
import socket
from collections.abc import Mapping


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


class ClientDisconnected(Exception):
    """The caller went away before a step started (Truss answers 499 and skips the step)."""

    status_code = 499


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
