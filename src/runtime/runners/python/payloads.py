"""Request and response bodies, as the Truss server reads and writes them.

Reading: a body framed by Content-Length or chunked; then, for a model that takes its inputs, msgpack
for `application/octet-stream`, bytes as they are for other binary media types, JSON for anything
else. Writing: msgpack back to a msgpack request, bytes as octet-stream, JSON otherwise. Nothing here
knows the model: handler.py decides what to call when.
"""

from __future__ import annotations

import json

from . import msgpack_codec

MSGPACK = "application/octet-stream"


class BadRequest(Exception):
    """The body is not framed as its headers say (so the connection cannot be reused)."""


class InvalidPayload(Exception):
    """The body was read but is not the JSON or msgpack its content type says; the message says why."""


class UnencodableOutput(Exception):
    """The model's output is not something JSON or msgpack can hold: the model's fault, a 500."""


def read_body(rfile, headers) -> bytes:
    """The whole request body from `rfile`. Raises BadRequest (or ValueError) when it is malformed."""
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        return _read_chunked_body(rfile)
    length = int(headers.get("Content-Length") or 0)
    if length < 0:
        raise BadRequest("negative Content-Length")
    body = rfile.read(length) if length else b""
    if len(body) != length:
        raise BadRequest("body shorter than Content-Length")
    return body


def _read_chunked_body(rfile) -> bytes:
    parts = []
    while True:
        size_line = rfile.readline(65537)
        if not size_line:
            raise BadRequest("truncated chunked body")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        parts.append(rfile.read(size))
        rfile.readline()  # the CRLF after each chunk


def media_type(content_type) -> str:
    """`Content-Type: Application/JSON; charset=utf-8` -> `application/json`."""
    return (content_type or "").split(";")[0].strip().lower()


def is_binary(content_type: str) -> bool:
    """As Truss: every body is JSON (curl -d says form-urlencoded) except binary media types."""
    return content_type == MSGPACK or content_type.split("/")[0] in ("image", "audio", "video")


def decode_inputs(body: bytes, content_type: str):
    """The model's inputs from a request body: msgpack, bytes, or JSON. Raises InvalidPayload."""
    # As Truss: an octet-stream body is msgpack both ways; other binary media types arrive as bytes.
    if content_type == MSGPACK:
        try:
            return msgpack_codec.unpackb(body)
        except ValueError as error:
            raise InvalidPayload(f"Invalid msgpack payload: {error}") from error
        except RecursionError as error:
            raise InvalidPayload(f"Invalid msgpack payload: {_too_deep(error)}") from None
    if is_binary(content_type):
        return body
    try:
        return json.loads(body)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        raise InvalidPayload(f"Invalid JSON payload: {error}") from error
    except RecursionError as error:
        raise InvalidPayload(f"Invalid JSON payload: {_too_deep(error)}") from None


def _too_deep(error: RecursionError) -> str:
    # `[` x 5000 decodes (or an output encodes) one Python frame per level, and Python's recursion
    # limit ends it: the client's (or the model's) data is at fault, not the runner. (Caught where it
    # is raised, the stack is unwound already and the runner serves on.)
    return f"nesting too deep ({error})"


def encode_output(output, as_msgpack: bool):
    """A model's (non-streamed) output as (body, content type). Raises UnencodableOutput."""
    if isinstance(output, (bytes, bytearray, memoryview)) and not as_msgpack:
        return bytes(output), "application/octet-stream"
    try:
        if as_msgpack:
            return msgpack_codec.packb(output), MSGPACK
        return encode_json(output), "application/json"
    except RecursionError as error:
        reason = _too_deep(error)
    except (TypeError, ValueError) as error:  # a set, a cycle, NaN, an int over 64 bits for msgpack
        reason = str(error)
    encoding = "msgpack" if as_msgpack else "JSON"
    raise UnencodableOutput(f"The model's output cannot be encoded as {encoding}: {reason}")


def encode_json(value) -> bytes:
    # allow_nan=False: NaN is not JSON, and Girder's gateway must be able to parse the body.
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
