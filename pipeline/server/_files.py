"""The Files API of the fake server: ``POST /v1/files`` (multipart upload), ``GET /v1/files``
(list, paginated), ``GET /v1/files/{id}``, ``GET /v1/files/{id}/content`` and
``DELETE /v1/files/{id}``, shaped like OpenAI's (the ``FileObject`` of openai-python 3.x).

Contents live on disk (a temporary folder unless one is given), never all in memory: a
batch input file may be 200 MB, and the batch engine writes its output and error files
line by line. Only ``purpose=batch`` uploads are checked further: a ``.jsonl`` name and at
most ``max_file_bytes`` bytes, as OpenAI documents for the Batch API.
"""

from __future__ import annotations

import itertools
import re
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.server._faults import _error_body

PURPOSES = (
    "assistants",
    "assistants_output",
    "batch",
    "batch_output",
    "fine-tune",
    "fine-tune-results",
    "vision",
    "user_data",
    "evals",
)
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_DISPOSITION = re.compile(r'(\w+)="([^"]*)"')


class FilesError(Exception):
    """A request the Files API refuses: the status and OpenAI's error body."""

    def __init__(
        self, status: int, message: str, *, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = _error_body(message, param=param, code=code)


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    bytes: int
    created_at: int
    path: Path

    def obj(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
            "expires_at": None,
        }


def parse_multipart(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The parts of a ``multipart/form-data`` body: name -> (filename or None, content).

    Only what HTTP clients send is read (a boundary parameter, CRLF line ends, one
    Content-Disposition per part); anything else raises :class:`FilesError` (400)."""
    m = _BOUNDARY.search(content_type or "")
    if not content_type.lower().startswith("multipart/form-data") or m is None:
        raise FilesError(
            400,
            "Expected a multipart/form-data body with a boundary (upload a file).",
            param="file",
        )
    delimiter = b"--" + m.group(1).encode("latin-1")
    parts: dict[str, tuple[str | None, bytes]] = {}
    pos = raw.find(delimiter)
    if pos < 0:
        raise FilesError(400, "The multipart body holds no part.", param="file")
    while True:
        pos += len(delimiter)
        if raw[pos : pos + 2] == b"--":
            return parts
        if raw[pos : pos + 2] != b"\r\n":
            raise FilesError(400, "Malformed multipart body.", param="file")
        head_end = raw.find(b"\r\n\r\n", pos + 2)
        nxt = raw.find(b"\r\n" + delimiter, head_end) if head_end >= 0 else -1
        if head_end < 0 or nxt < 0:
            raise FilesError(400, "Malformed multipart body: a part is not closed.", param="file")
        head = raw[pos + 2 : head_end].decode("utf-8", "replace")
        name, filename = None, None
        for line in head.split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                fields = dict(_DISPOSITION.findall(value))
                name, filename = fields.get("name"), fields.get("filename")
        if name is None:
            raise FilesError(400, "A multipart part has no name.", param="file")
        parts[name] = (filename, raw[head_end + 4 : nxt])
        pos = nxt + 2


class FileStore:
    """Files kept on disk in ``folder`` (a temporary folder when None), ids ``file-...``."""

    def __init__(self, folder: str | Path | None = None, *, seed: int = 0) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-openai-files-") if not folder else None
        self.folder = Path(folder) if folder else Path(self._tmp.name)  # type: ignore[union-attr]
        self.folder.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, StoredFile] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._seed = seed

    def new_id(self, prefix: str = "file-") -> str:
        return f"{prefix}{self._seed:04x}{next(self._ids):020x}"

    def add(self, filename: str, purpose: str, data: bytes | None = None) -> StoredFile:
        """Store ``data`` (or an empty file to be appended to) as a new file."""
        fid = self.new_id()
        path = self.folder / fid
        path.write_bytes(data or b"")
        f = StoredFile(fid, filename, purpose, len(data or b""), int(time.time()), path)
        with self._lock:
            self._files[fid] = f
        return f

    def register(self, f: StoredFile) -> None:
        """Make a file written elsewhere (a batch's output) visible, with its final size."""
        f.bytes = f.path.stat().st_size
        with self._lock:
            self._files[f.id] = f

    def get(self, file_id: str) -> StoredFile:
        with self._lock:
            f = self._files.get(file_id)
        if f is None:
            raise FilesError(404, f"No such File object: {file_id}", param="id")
        return f

    def delete(self, file_id: str) -> dict[str, Any]:
        f = self.get(file_id)
        with self._lock:
            self._files.pop(file_id, None)
        f.path.unlink(missing_ok=True)
        return {"id": file_id, "object": "file", "deleted": True}

    def listing(self, *, after: str | None, limit: int, purpose: str | None) -> dict[str, Any]:
        with self._lock:
            files = sorted(self._files.values(), key=lambda f: f.id, reverse=True)
        if purpose:
            files = [f for f in files if f.purpose == purpose]
        if after:
            ids = [f.id for f in files]
            files = files[ids.index(after) + 1 :] if after in ids else []
        page = files[:limit]
        return {
            "object": "list",
            "data": [f.obj() for f in page],
            "first_id": page[0].id if page else None,
            "last_id": page[-1].id if page else None,
            "has_more": len(files) > limit,
        }

    def upload(self, headers: dict[str, str], raw: bytes, *, max_batch_bytes: int) -> StoredFile:
        """``POST /v1/files``: the multipart form's ``file`` and ``purpose``."""
        parts = parse_multipart(headers.get("content-type", ""), raw)
        if "file" not in parts:
            raise FilesError(400, "Missing required parameter: 'file'.", param="file")
        if "purpose" not in parts:
            raise FilesError(400, "Missing required parameter: 'purpose'.", param="purpose")
        purpose = parts["purpose"][1].decode("utf-8", "replace").strip()
        if purpose not in PURPOSES:
            raise FilesError(
                400,
                f"'{purpose}' is not one of {list(PURPOSES)} - 'purpose'",
                param="purpose",
                code="invalid_value",
            )
        filename, data = parts["file"]
        filename = filename or "upload"
        if purpose == "batch":
            if not filename.endswith(".jsonl"):
                raise FilesError(
                    400,
                    f"Invalid file format for Batch API. Must be .jsonl (got {filename}).",
                    param="file",
                    code="invalid_file_format",
                )
            if len(data) > max_batch_bytes:
                raise FilesError(
                    400,
                    f"File is too large: {len(data)} bytes. Files uploaded for the Batch API "
                    f"may be at most {max_batch_bytes} bytes.",
                    param="file",
                    code="file_too_large",
                )
        return self.add(filename, purpose, data)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
