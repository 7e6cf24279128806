"""Bounded gzip inflation for request bodies: a small gzip bomb stops at the limit."""

from __future__ import annotations

import zlib


class BadGzip(ValueError):
    """Not gzip, or cut short."""


class OverLimit(ValueError):
    """Inflates to more than the limit."""


def gunzip_bounded(data: bytes, max_bytes: int) -> bytes:
    """Every gzip member of ``data`` (gzip allows several back to back), never producing more
    than ``max_bytes``: output is bounded as it is produced, not checked after expanding."""
    out = bytearray()
    while data:
        decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            out += decompressor.decompress(data, max_bytes + 1 - len(out))
        except zlib.error as exc:
            raise BadGzip(str(exc)) from None
        if len(out) > max_bytes:
            raise OverLimit(max_bytes)
        if not decompressor.eof:
            raise BadGzip("truncated")
        data = decompressor.unused_data
    return bytes(out)
