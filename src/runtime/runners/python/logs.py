"""Request-attributed logging for the python runner (see ../PROTOCOL.md, "Logs").

Girder reads the replica's stdout and stderr line by line. Output produced while serving a request
(print, sys.stderr writes, `logging` records) must become one JSON line
`{"level", "msg", "request_id"}` so Girder can attach it to that request; anything else stays a
plain line. The current request travels in a contextvar: each handler thread sets it for the request
it serves, and coroutines run on the shared event loop inherit it (see model_async.AsyncRunner).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import sys
import threading
import traceback

_current_request = contextvars.ContextVar("girder_current_request", default=None)

# Lines from many threads share two pipes; a line must never be cut by another thread's line.
_write_lock = threading.Lock()
# A model's multiprocessing may fork while another thread writes a line: the child would start with
# the lock (and the stream's own) held by a thread it does not have, and hang at its first print.
# Taking the lock around fork means no line is being written at that moment.
os.register_at_fork(before=_write_lock.acquire, after_in_parent=_write_lock.release, after_in_child=_write_lock.release)

# The real streams, saved before install() replaces sys.stdout / sys.stderr.
_raw_stdout = sys.stdout
_raw_stderr = sys.stderr


class _RequestScope:
    """The request being served, and what it printed that does not end in a newline yet."""

    def __init__(self, request_id: str):
        self.request_id = request_id
        self.lock = threading.Lock()
        self.partial_lines: dict = {}  # _RequestAwareStream -> unfinished text


def _write_line(stream, line: str) -> None:
    with _write_lock:
        stream.write(line + "\n")
        stream.flush()


def _write_json_line(stream, level: str, msg: str, request_id: str) -> None:
    record = {"level": level, "msg": msg, "request_id": request_id}
    _write_line(stream, json.dumps(record, ensure_ascii=False))


@contextlib.contextmanager
def request_scope(request_id):
    """Attribute everything written by this thread (and the coroutines it runs) to request_id."""
    if not request_id:
        yield
        return
    scope = _RequestScope(request_id)
    token = _current_request.set(scope)
    try:
        yield
    finally:
        _current_request.reset(token)
        # A trailing print(..., end="") still belongs to this request.
        with scope.lock:
            leftovers = list(scope.partial_lines.items())
            scope.partial_lines.clear()
        for stream, text in leftovers:
            if text:
                stream.emit(text, scope.request_id)


class _RequestAwareStream:
    """Stands in for sys.stdout / sys.stderr: plain pass-through outside a request, JSON lines inside."""

    def __init__(self, raw, level: str):
        self._raw = raw
        self._level = level

    def write(self, text: str) -> int:
        scope = _current_request.get()
        if scope is None:
            with _write_lock:  # see register_at_fork above
                return self._raw.write(text)
        # print() writes the text and the newline separately: buffer until a line is complete.
        with scope.lock:
            pending = scope.partial_lines.get(self, "") + text
            *lines, rest = pending.split("\n")
            scope.partial_lines[self] = rest
        for line in lines:
            self.emit(line, scope.request_id)
        return len(text)

    def emit(self, line: str, request_id: str) -> None:
        _write_json_line(self._raw, self._level, line, request_id)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._raw.flush()

    def __getattr__(self, name):
        # encoding, fileno, isatty, buffer, ... behave as on the real stream.
        return getattr(self._raw, name)


class _RequestAwareLogHandler(logging.Handler):
    """Root logging handler: a JSON line inside a request, a plain line outside."""

    _plain = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    _bare = logging.Formatter("%(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            scope = _current_request.get()
            if scope is None:
                _write_line(_raw_stdout, self._plain.format(record))
            else:
                level = record.levelname.lower()
                _write_json_line(_raw_stdout, level, self._bare.format(record), scope.request_id)
        except Exception:
            self.handleError(record)


def install(debug: bool = False) -> None:
    """Route print/sys.std*/logging through the request-aware writers. Call once, before the model loads.
    `debug` (config.yaml's runtime.enable_debug_logs, as in Truss) shows logging.debug records too."""
    global _raw_stdout, _raw_stderr
    for stream in (sys.stdout, sys.stderr):
        # Girder decodes UTF-8; never crash a model on an unencodable character.
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(encoding="utf-8", errors="backslashreplace")
    _raw_stdout, _raw_stderr = sys.stdout, sys.stderr
    sys.stdout = _RequestAwareStream(_raw_stdout, "info")
    sys.stderr = _RequestAwareStream(_raw_stderr, "warning")
    root = logging.getLogger()
    root.addHandler(_RequestAwareLogHandler())
    # As in Truss, model code's logging.info(...) is shown without any configuration.
    root.setLevel(logging.DEBUG if debug else logging.INFO)


def info(msg: str) -> None:
    """A runner message on stdout (JSON when inside a request)."""
    _emit_runner_message(_raw_stdout, "info", msg)


def warning(msg: str) -> None:
    _emit_runner_message(_raw_stderr, "warning", msg)


def exception(msg: str) -> None:
    """msg plus the current exception's traceback, as ONE record on stderr (so Girder keeps it together)."""
    _emit_runner_message(_raw_stderr, "error", msg + "\n" + traceback.format_exc().rstrip("\n"))


def _emit_runner_message(stream, level: str, msg: str) -> None:
    scope = _current_request.get()
    if scope is None:
        _write_line(stream, msg)
    else:
        _write_json_line(stream, level, msg, scope.request_id)


def flush() -> None:
    for stream in (_raw_stdout, _raw_stderr):
        with contextlib.suppress(Exception):
            stream.flush()
