"""The command line's ``--replay`` / ``--record``: replaying and recording a cassette, what
one was recorded with, and the command that records it again."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pipeline.cassettes._errors import CassetteError
from pipeline.cassettes._use import use_cassette
from pipeline.yamlfile import YamlFileError, load_yaml


def rerecord_command(path: str | Path, *, prompt_ref: str, model: str | None) -> str:
    """The command that records ``path`` again (the script, for the shipped run cassettes)."""
    p = Path(path).resolve()
    folder = p if p.is_dir() else p.parent
    if (
        folder.name == "runs"
        and folder.parent.name == "cassettes"
        and (folder.parent.parent / "scripts" / "record_cassettes.py").is_file()
    ):
        return "`python scripts/record_cassettes.py`"
    model_flag = f" --model {model}" if model else ""
    target = f"{path}/NAME.yaml" if p.is_dir() else str(path)
    return f"`summarise run PATH... --prompt {prompt_ref}{model_flag} --record {target}`"


@contextlib.contextmanager
def replaying(path: str | Path) -> Iterator[Any]:
    """Answer every HTTP request from the cassette at ``path`` (a file, or a folder whose
    cassettes are read together); nothing reaches the network."""
    p = Path(path)
    if not p.exists():
        raise CassetteError(
            f"no cassette at {p}: record one with `summarise run PATH --record {p}` "
            f"against a live endpoint"
        )
    with use_cassette(p, "none", secrets=()) as cassette:
        yield cassette


@contextlib.contextmanager
def recording(path: str | Path, *, secrets: Iterable[str] | None = None) -> Iterator[Any]:
    """Record every HTTP request and response into ``path`` (rewritten), scrubbed.

    ``secrets``: exact values to redact besides the patterns (default: the values of the
    key-, org- and project-bearing ``OPENAI_*`` environment variables)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with use_cassette(p, "rewrite", secrets=secrets) as cassette:
        yield cassette


def cassette_info(path: str | Path) -> dict[str, Any]:
    """What a cassette was recorded with: the model and base URL of its first request (of
    the first cassette that holds one, for a folder)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(p.glob("*.yaml"))
        infos = [cassette_info(f) for f in files if f.stat().st_size]
        if not infos:
            raise CassetteError(f"{p} holds no cassette (*.yaml) with recorded interactions")
        first = next((i for i in infos if i["model"]), infos[0])
        return {**first, "interactions": sum(i["interactions"] for i in infos)}
    try:
        data = load_yaml(p.read_text(encoding="utf-8"), p) or {}
    except YamlFileError as exc:  # one line: the file, the line, the problem
        raise CassetteError(f"cannot read cassette: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CassetteError(f"cannot read cassette {p}: {exc}") from exc
    interactions = data.get("interactions") if isinstance(data, dict) else None
    if not isinstance(interactions, list) or not interactions:
        raise CassetteError(
            f"{p} holds no recorded interactions: record it again with "
            f"`summarise run PATH --record {p}`"
        )
    model = None
    base_url = None
    for it in interactions:
        req = it.get("request", {}) if isinstance(it, dict) else {}
        try:
            model = json.loads(req.get("body") or "{}").get("model")
        except (TypeError, ValueError, AttributeError):
            continue
        uri = str(req.get("uri", ""))
        for suffix in ("/chat/completions", "/responses", "/models"):
            if suffix in uri:
                base_url = uri.split(suffix, 1)[0]
                break
        if model:
            break
    return {"model": model, "base_url": base_url, "interactions": len(interactions)}
