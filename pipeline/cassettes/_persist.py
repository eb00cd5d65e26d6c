"""Reading and writing cassette files: a folder read as one cassette; writing sorted, checked
for secrets and compressed bodies, atomic."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vcr.persisters.filesystem import CassetteNotFoundError, FilesystemPersister
from vcr.serialize import serialize

from pipeline.cassettes._decode import _INSTALL_HINT
from pipeline.cassettes._errors import CassetteError
from pipeline.cassettes._match import _sort_key
from pipeline.cassettes._secrets import find_secrets


class CassettePersister:
    """vcrpy's file persister, made safe: sorted, checked for secrets, written atomically.

    A cassette it refuses to write is not written, and the reason is kept in :attr:`error`
    rather than raised: vcrpy saves *before* it removes its patches, so an exception here
    would leave httpx2 patched for the rest of the process. :func:`use_cassette` raises it
    once the patches are gone."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = tuple(s for s in secrets if s)
        self.error: Exception | None = None

    def load_cassette(self, cassette_path: Any, serializer: Any) -> Any:
        """One cassette file, or every ``*.yaml`` cassette in a folder, in name order."""
        path = Path(cassette_path)
        if not path.is_dir():
            return FilesystemPersister.load_cassette(path, serializer)
        requests: list[Any] = []
        responses: list[Any] = []
        for file in sorted(path.glob("*.yaml")):
            try:
                reqs, resps, *_ = FilesystemPersister.load_cassette(file, serializer)
            except CassetteNotFoundError:  # an empty file
                continue
            requests += reqs
            responses += resps
        if not requests:
            raise CassetteNotFoundError()
        return requests, responses

    def save_cassette(self, cassette_path: Any, cassette_dict: Any, serializer: Any) -> None:
        try:
            self._save(Path(cassette_path), cassette_dict, serializer)
        except Exception as exc:  # kept; use_cassette raises it
            self.error = self.error or exc

    def _save(self, path: Path, cassette_dict: Any, serializer: Any) -> None:
        pairs = list(zip(cassette_dict["requests"], cassette_dict["responses"], strict=True))
        pairs.sort(key=lambda pair: _sort_key(pair[0]))
        for _, response in pairs:
            headers = response.get("headers") or {}
            for name, values in headers.items():
                if name.lower() == "content-encoding":
                    enc = ", ".join(values)
                    hint = _INSTALL_HINT.get(enc.strip().lower(), "install its decoder")
                    raise CassetteError(
                        f"refusing to write {path}: a response body is {enc}-encoded and "
                        f"cannot be decoded here ({hint}, then record again)"
                    )
        data = {
            **cassette_dict,
            "requests": [p[0] for p in pairs],
            "responses": [p[1] for p in pairs],
        }
        text = serialize(data, serializer)
        leaks = [s for s in self.secrets if s in text] + find_secrets(text)
        if leaks:
            shown = ", ".join(sorted({leak[:6] + "…" for leak in leaks}))
            raise CassetteError(
                f"refusing to write {path}: it would hold {len(leaks)} secret-looking "
                f"string(s) ({shown}); nothing was written"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
