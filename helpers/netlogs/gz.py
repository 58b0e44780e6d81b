"""The text lines of a delivered log file, gzipped or not (both formats' files are)."""

from __future__ import annotations

import gzip
import zlib


def text_lines(data: bytes, name: str, error: type[ValueError]) -> list[str]:
    """``data``'s lines; a broken gzip or non-UTF-8 text raises ``error`` naming ``name``."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            raise error(f"{name}: not a whole gzip file ({exc})") from None
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise error(f"{name}: not UTF-8 text ({exc})") from None


def compress(text: str) -> bytes:
    """Gzip ``text`` reproducibly (no timestamp in the header), as the samples are committed."""
    return gzip.compress(text.encode(), compresslevel=9, mtime=0)
