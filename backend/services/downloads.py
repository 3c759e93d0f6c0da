"""Download helpers: a Content-Disposition no client can read as a path, and Range headers that HTTP says to ignore."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from flask import Response
from werkzeug.http import parse_range_header

DEFAULT_NAME = "download"
# Look-alikes of the path separators whose NFKC form is not one (division slash, fraction slash, big solidi, set minus).
_SLASH_LOOKALIKES = frozenset("\u2215\u2044\u29f8\u29f9\u2216")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSAFE_ASCII = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|%;]")
_DOT_RUNS = re.compile(r"\.{2,}")


def is_separator(char: str) -> bool:
    """Whether ``char`` separates paths (``/``, ``\\``; ``:`` for Windows drives and streams), or becomes or looks
    like such a character."""
    return char in _SLASH_LOOKALIKES or any(c in "/\\:" for c in unicodedata.normalize("NFKC", char))


def _tidy(name: str) -> str:
    """``name`` without leading dots or white space nor trailing ones; ``download`` kept before a bare extension."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem = stem.lstrip(". \t").rstrip(". \t")
    ext = ext.strip(". \t")
    return f"{stem or DEFAULT_NAME}.{ext}" if ext else stem or DEFAULT_NAME


def display_name(name: str) -> str:
    """``name`` as a plain file name: separators, their look-alikes and control characters become ``_``."""
    plain = "".join("_" if is_separator(c) else c for c in name)
    return _tidy(_DOT_RUNS.sub(".", _CONTROL.sub("_", plain)))  # no ".." left to read as a parent folder


def ascii_name(name: str) -> str:
    """An ASCII fallback of ``name`` (after NFKD) without path or shell-special characters; never empty."""
    text = unicodedata.normalize("NFKD", display_name(name)).encode("ascii", "ignore").decode("ascii")
    return _tidy(_UNSAFE_ASCII.sub("_", text))


def content_disposition(name: str, inline: bool = False) -> str:
    """``attachment`` (or ``inline``) with an ASCII ``filename`` and the UTF-8 ``filename*`` (RFC 6266)."""
    kind = "inline" if inline else "attachment"
    fallback = ascii_name(name)
    encoded = quote(display_name(name).encode("utf-8"), safe="!#$&+^`|")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def ignore_unusable_range(environ: dict[str, Any]) -> None:
    """Drop a ``Range`` header that is malformed, not in bytes or multi-part: RFC 9110 says to ignore it (200)."""
    value = environ.get("HTTP_RANGE")
    if value is None:
        return
    parsed = parse_range_header(value)
    if parsed is None or parsed.units != "bytes" or len(parsed.ranges) != 1:
        del environ["HTTP_RANGE"]


def stream_attachment(body: Iterable[bytes], size: int, mimetype: str, name: str) -> Response:
    """A streamed download of ``size`` bytes (Content-Length sent) saved as ``name``."""
    response = Response(body, mimetype=mimetype, direct_passthrough=True)
    response.content_length = size
    response.headers["Content-Disposition"] = content_disposition(name)
    return response
