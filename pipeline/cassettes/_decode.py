"""Compressed response bodies: gzip, deflate, br and zstd (when their decoders are installed)
are decoded before recording and ``content-encoding`` is dropped."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

from pipeline.cassettes._errors import CassetteError


def _brotli() -> Callable[[bytes], bytes] | None:
    for name in ("brotli", "brotlicffi"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        return module.decompress  # type: ignore[no-any-return]
    return None


def _zstd() -> Callable[[bytes], bytes] | None:
    for name in ("compression.zstd", "backports.zstd"):
        try:
            module = __import__(name, fromlist=["decompress"])
        except ImportError:
            continue
        return module.decompress  # type: ignore[no-any-return]
    return None


def _inflate(data: bytes) -> bytes:
    try:
        return zlib.decompress(data)
    except zlib.error:  # raw deflate, as some servers send it
        return zlib.decompress(data, -zlib.MAX_WBITS)


def decoder_for(encoding: str) -> Callable[[bytes], bytes] | None:
    """A decoder for one ``content-encoding`` token, or None when none is installed."""
    token = encoding.strip().lower()
    if token in ("", "identity"):
        return lambda data: data
    if token in ("gzip", "x-gzip"):
        return lambda data: zlib.decompress(data, zlib.MAX_WBITS | 16)
    if token == "deflate":
        return _inflate
    if token == "br":
        return _brotli()
    if token == "zstd":
        return _zstd()
    return None


_INSTALL_HINT = {"br": "pip install brotli", "zstd": "pip install backports.zstd"}  # as httpx2


def _decode_response(response: dict[str, Any]) -> None:
    """Decode a compressed response body in place and drop ``content-encoding``.

    An encoding with no decoder installed is left as it is; the writer then refuses to save
    the cassette and names the package that decodes it."""
    headers: dict[str, list[str]] = response.get("headers") or {}
    names = [n for n in headers if n.lower() == "content-encoding"]
    if not names:
        return
    tokens = [t for n in names for v in headers[n] for t in str(v).split(",") if t.strip()]
    body = response.get("body", {}).get("string")
    if isinstance(body, str):
        body = body.encode("utf-8")
    if body is None:
        body = b""
    remaining = list(tokens)
    try:
        while remaining:  # encodings are listed in the order they were applied
            decode = decoder_for(remaining[-1])
            if decode is None:
                break
            body = decode(body)
            remaining.pop()
    except (zlib.error, OSError, ValueError) as exc:
        raise CassetteError(
            f"cannot decode a {remaining[-1].strip()} response body: {exc}"
        ) from exc
    for n in names:
        del headers[n]
    if remaining:
        headers["content-encoding"] = [", ".join(t.strip() for t in remaining)]
    response["body"]["string"] = body
    for n in [n for n in headers if n.lower() == "content-length"]:
        del headers[n]
    headers["content-length"] = [str(len(body))]
