"""Where prompt versions live: the built-in folder and the user's own, each with its lock.

The **built-in** prompts ship inside the package (``pipeline/_data/prompts`` in a wheel; in a
source checkout or an editable install, the repository's top-level ``prompts/``). A user's
**own folder** is ``$SUMMARISE_PROMPTS`` when set, else ``./prompts`` when the current folder
has one (and it is not the built-in folder itself, as in the project's own checkout). A
version in the user's folder adds to the built-in ones, or overrides the one with the same
``name@version``.

Each folder has its own ``lock`` file: the built-in lock releases the shipped versions, the
user's lock releases the user's. ``summarise prompts lock`` writes only the user's folder (or
the repository's, in the project's checkout); installed built-in prompts are never rewritten.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import PromptError

VERSION = re.compile(r"^v(\d+)$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
ENV = "SUMMARISE_PROMPTS"


@dataclass(frozen=True)
class Folder:
    """A folder of ``<name>/vN.yaml`` files and a ``lock``."""

    path: Path
    origin: str  # "built-in", "./prompts", "$SUMMARISE_PROMPTS" or the path a caller gave
    builtin: bool = False

    @property
    def installed(self) -> bool:
        """The built-in prompts of an installed package (read-only, never re-locked)."""
        return self.builtin and self.path.parent.name == "_data"

    def describe(self) -> str:
        if self.builtin:
            return f"the built-in prompts ({self.path})"
        if self.origin == str(self.path):
            return str(self.path)
        return f"{self.origin} ({self.path.absolute()})"


def builtin_folder() -> Folder:
    """The prompts shipped with the package (see the module docstring)."""
    package = Path(__file__).resolve().parent.parent
    bundled = package / "_data" / "prompts"
    path = bundled if bundled.is_dir() else package.parent / "prompts"
    return Folder(path, "built-in", builtin=True)


def user_folder() -> Folder | None:
    """``$SUMMARISE_PROMPTS``, else ``./prompts`` when present; None when there is neither."""
    env = os.environ.get(ENV)
    if env:
        path = Path(env)
        if not path.is_dir():
            raise PromptError(
                f"{ENV}={env} is not a folder: point it at a folder of <name>/vN.yaml prompt "
                f"files, or unset it"
            )
        origin = f"${ENV}"
    else:
        path = Path("prompts")
        if not path.is_dir():
            return None
        origin = "./prompts"
    if _same(path, builtin_folder().path):
        return None
    return Folder(path, origin)


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def search_folders(directory: Path | None = None) -> list[Folder]:
    """The folders to search, highest precedence first (just ``directory`` when given)."""
    if directory is not None:
        return [Folder(Path(directory), str(directory))]
    user = user_folder()
    return [user, builtin_folder()] if user else [builtin_folder()]


def prompts_dir() -> Path:
    """The folder ``summarise prompts lock`` releases into: the user's, else the built-in."""
    user = user_folder()
    return user.path if user else builtin_folder().path


def where(folders: list[Folder]) -> str:
    """ "looked in X and Y" for error messages."""
    return "looked in " + " and ".join(f.describe() for f in folders)


def version_number(version: str) -> int:
    m = VERSION.match(version)
    return int(m.group(1)) if m else -1


def versions_in(folder: Path) -> dict[str, list[str]]:
    """``{name: [versions, oldest first]}`` for every prompt file in one folder."""
    out: dict[str, list[str]] = {}
    if not folder.is_dir():
        return out
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        versions = [f.stem for f in sub.glob("v*.yaml") if VERSION.match(f.stem)]
        if versions:
            out[sub.name] = sorted(versions, key=version_number)
    return out


@dataclass(frozen=True)
class Entry:
    """One ``name@version`` as found: the file that wins and the files it overrides."""

    name: str
    version: str
    folder: Folder
    path: Path
    overrides: tuple[Folder, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


def entries(directory: Path | None = None) -> list[Entry]:
    """Every prompt version across the search folders, by name then version number."""
    found: dict[tuple[str, str], Entry] = {}
    for folder in search_folders(directory):
        for name, versions in versions_in(folder.path).items():
            for version in versions:
                key = (name, version)
                path = folder.path / name / f"{version}.yaml"
                if key in found:
                    first = found[key]
                    found[key] = Entry(
                        name, version, first.folder, first.path, (*first.overrides, folder)
                    )
                else:
                    found[key] = Entry(name, version, folder, path)
    return sorted(found.values(), key=lambda e: (e.name, version_number(e.version)))


def available(directory: Path | None = None) -> dict[str, list[str]]:
    """``{name: [versions, oldest first]}`` across the search folders."""
    out: dict[str, list[str]] = {}
    for e in entries(directory):
        out.setdefault(e.name, []).append(e.version)
    return out


def read_lock(directory: Path | None = None) -> dict[str, str]:
    """``{"name@vN": sha256}`` from a folder's ``lock`` (empty when there is none)."""
    path = (directory or prompts_dir()) / "lock"
    out: dict[str, str] = {}
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        ref, _, digest = line.partition(" ")
        out[ref.strip()] = digest.strip()
    return out


def write_lock(entries: dict[str, str], directory: Path | None = None) -> None:
    path = (directory or prompts_dir()) / "lock"
    lines = [
        "# sha256 of each released prompt version's file. Do not edit by hand:",
        "# release a new version with `summarise prompts lock`.",
        *(f"{ref} {digest}" for ref, digest in sorted(entries.items(), key=_ref_order)),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _ref_order(item: tuple[str, str]) -> tuple[str, int]:
    name, _, version = item[0].partition("@")
    return name, version_number(version)
