"""MessagePack, as the Truss server speaks it for `Content-Type: application/octet-stream` bodies.

The runner is stdlib-only (models may not have the `msgpack` package), so this is the part of the
format Truss clients send and read: nil, booleans, integers up to 64 bits, floats, str, bin, arrays,
maps, and the timestamp extension (as a UTC datetime). Numpy arrays and other extension types are
refused with a message that says so.

    >>> unpackb(packb({"a": [1, 2.5, b"x"]}))
    {'a': [1, 2.5, b'x']}
"""

import datetime
import struct

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class _Reader:
    def __init__(self, data: bytes):
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise ValueError("msgpack body ends in the middle of a value")
        chunk = self.data[self.pos:end].tobytes()
        self.pos = end
        return chunk

    def unpack(self, fmt: str):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]


def unpackb(data: bytes):
    """Decodes one msgpack value that must span the whole of `data`. Raises ValueError otherwise."""
    reader = _Reader(data)
    value = _read(reader)
    if reader.pos != len(reader.data):
        raise ValueError(f"msgpack body has {len(reader.data) - reader.pos} bytes after its value")
    return value


def _read(r: _Reader):
    b = r.take(1)[0]
    if b <= 0x7F:
        return b
    if b >= 0xE0:
        return b - 0x100
    if 0x80 <= b <= 0x8F:
        return _read_map(r, b & 0x0F)
    if 0x90 <= b <= 0x9F:
        return [_read(r) for _ in range(b & 0x0F)]
    if 0xA0 <= b <= 0xBF:
        return _read_str(r, b & 0x1F)
    if b == 0xC0:
        return None
    if b == 0xC2:
        return False
    if b == 0xC3:
        return True
    sized = _SIZED.get(b)
    if sized:
        kind, fmt = sized
        n = r.unpack(fmt)
        if kind == "bin":
            return r.take(n)
        if kind == "str":
            return _read_str(r, n)
        if kind == "array":
            return [_read(r) for _ in range(n)]
        if kind == "map":
            return _read_map(r, n)
        return _read_ext(r, r.unpack(">b"), n)  # ext 8/16/32
    number = _NUMBERS.get(b)
    if number:
        return r.unpack(number)
    if 0xD4 <= b <= 0xD8:
        return _read_ext(r, r.unpack(">b"), 1 << (b - 0xD4))  # fixext 1/2/4/8/16
    raise ValueError(f"0x{b:02x} is not a msgpack type byte")


_SIZED = {
    0xC4: ("bin", ">B"), 0xC5: ("bin", ">H"), 0xC6: ("bin", ">I"),
    0xC7: ("ext", ">B"), 0xC8: ("ext", ">H"), 0xC9: ("ext", ">I"),
    0xD9: ("str", ">B"), 0xDA: ("str", ">H"), 0xDB: ("str", ">I"),
    0xDC: ("array", ">H"), 0xDD: ("array", ">I"),
    0xDE: ("map", ">H"), 0xDF: ("map", ">I"),
}
_NUMBERS = {
    0xCA: ">f", 0xCB: ">d",
    0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q",
    0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q",
}


def _read_str(r: _Reader, n: int) -> str:
    try:
        return r.take(n).decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"msgpack str is not UTF-8: {error}") from None


def _read_map(r: _Reader, n: int) -> dict:
    out = {}
    for _ in range(n):
        key = _read(r)
        try:
            out[key] = _read(r)
        except TypeError:
            raise ValueError(f"msgpack map key of type {type(key).__name__} cannot be a dict key") from None
    return out


def _read_ext(r: _Reader, code: int, n: int):
    data = r.take(n)
    if code != -1:
        raise ValueError(f"msgpack extension type {code} is not supported (only timestamps, type -1)")
    if n == 4:
        seconds, nanos = struct.unpack(">I", data)[0], 0
    elif n == 8:
        packed = struct.unpack(">Q", data)[0]
        seconds, nanos = packed & 0x3FFFFFFFF, packed >> 34
    elif n == 12:
        nanos, seconds = struct.unpack(">Iq", data)
    else:
        raise ValueError(f"a msgpack timestamp has 4, 8 or 12 bytes, not {n}")
    return _EPOCH + datetime.timedelta(seconds=seconds, microseconds=nanos // 1000)


def packb(value) -> bytes:
    """Encodes a value made of None, bool, int, float, str, bytes, lists, tuples and dicts."""
    out = bytearray()
    _write(out, value)
    return bytes(out)


def _write(out: bytearray, v) -> None:
    if v is None:
        out.append(0xC0)
    elif v is True or v is False:
        out.append(0xC3 if v else 0xC2)
    elif isinstance(v, int):
        _write_int(out, v)
    elif isinstance(v, float):
        out += b"\xcb" + struct.pack(">d", v)
    elif isinstance(v, str):
        data = v.encode("utf-8")
        _write_head(out, len(data), 0xA0, 31, (0xD9, 0xDA, 0xDB))
        out += data
    elif isinstance(v, (bytes, bytearray, memoryview)):
        data = bytes(v)
        _write_head(out, len(data), None, 0, (0xC4, 0xC5, 0xC6))
        out += data
    elif isinstance(v, (list, tuple)):
        _write_head(out, len(v), 0x90, 15, (None, 0xDC, 0xDD))
        for item in v:
            _write(out, item)
    elif isinstance(v, dict):
        _write_head(out, len(v), 0x80, 15, (None, 0xDE, 0xDF))
        for key, item in v.items():
            _write(out, key)
            _write(out, item)
    elif isinstance(v, datetime.datetime) and v.tzinfo is not None:
        delta = v - _EPOCH
        seconds = delta.days * 86400 + delta.seconds
        out += b"\xc7\x0c\xff" + struct.pack(">Iq", delta.microseconds * 1000, seconds)
    else:
        raise TypeError(f"cannot encode {type(v).__name__} as msgpack; return JSON-like data, bytes, or a timezone-aware datetime")


def _write_head(out: bytearray, n: int, fix, fix_max: int, sized) -> None:
    """The type byte and length: the fix form when it fits, else the 8-, 16- or 32-bit length form."""
    if fix is not None and n <= fix_max:
        out.append(fix | n)
    elif sized[0] is not None and n <= 0xFF:
        out += bytes((sized[0], n))
    elif n <= 0xFFFF:
        out.append(sized[1])
        out += struct.pack(">H", n)
    elif n <= 0xFFFFFFFF:
        out.append(sized[2])
        out += struct.pack(">I", n)
    else:
        raise ValueError("msgpack cannot hold more than 2**32 - 1 items or bytes in one value")


def _write_int(out: bytearray, v: int) -> None:
    if 0 <= v <= 0x7F or -32 <= v < 0:
        out += struct.pack(">b" if v < 0 else ">B", v)
    elif 0 <= v <= 0xFFFFFFFFFFFFFFFF:
        for code, fmt, top in ((0xCC, ">B", 0xFF), (0xCD, ">H", 0xFFFF), (0xCE, ">I", 0xFFFFFFFF), (0xCF, ">Q", 0xFFFFFFFFFFFFFFFF)):
            if v <= top:
                out += bytes((code,)) + struct.pack(fmt, v)
                return
    elif -(1 << 63) <= v < 0:
        for code, fmt, low in ((0xD0, ">b", -0x80), (0xD1, ">h", -0x8000), (0xD2, ">i", -0x80000000), (0xD3, ">q", -(1 << 63))):
            if v >= low:
                out += bytes((code,)) + struct.pack(fmt, v)
                return
    else:
        raise ValueError(f"{v} does not fit in 64 bits, the largest msgpack integer")
