"""Releasing prompt versions: :func:`lock` records new versions' hashes in their folder's lock
and reports edited releases; ``check`` only reports."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import PromptError
from pipeline.prompts._file import load_file, locked_mismatch_message
from pipeline.prompts._folders import (
    ENV,
    Folder,
    read_lock,
    search_folders,
    versions_in,
    write_lock,
)


@dataclass(frozen=True)
class LockReport:
    added: list[str]
    unchanged: list[str]
    mismatched: list[str]
    messages: list[str]
    folder: Path | None = None  # the folder whose lock was (or would be) written


def release_folder(folders: list[Folder]) -> Folder | None:
    """The folder ``lock`` writes: the first one, unless it is an installed package's."""
    first = folders[0]
    return None if first.installed else first


def lock(directory: Path | None = None, *, check: bool = False) -> LockReport:
    """Release every unlocked version of the release folder (or, with ``check``, only report).

    The release folder is ``directory`` when given, else the user's own folder, else the
    built-in one in a source checkout; an installed package's prompts are never rewritten.
    A locked version whose file changed is never re-locked, in any folder: that is the error
    the lock exists to catch. ``check`` reports unlocked versions as problems too.
    """
    folders = search_folders(directory)
    target = release_folder(folders)
    if target is None and not check:
        raise PromptError(
            "no prompt folder of your own to release: the built-in prompts are part of the "
            "installed package; put your versions in ./prompts/<name>/vN.yaml (or a folder "
            f"named by {ENV}) and run `summarise prompts lock` there"
        )
    added: list[str] = []
    unchanged: list[str] = []
    mismatched: list[str] = []
    messages: list[str] = []
    new_entries: dict[str, str] = {}
    for folder in folders:
        entries = read_lock(folder.path)
        for name, versions in versions_in(folder.path).items():
            for version in versions:
                ref = f"{name}@{version}"
                path = folder.path / name / f"{version}.yaml"
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                if ref in entries:
                    if entries[ref] == digest:
                        unchanged.append(ref)
                    else:
                        mismatched.append(ref)
                        messages.append(
                            locked_mismatch_message(name, version, path, entries[ref], digest)
                        )
                    continue
                load_file(path, folder, check_lock=False)  # validates the file before release
                if folder != target:  # a draft among the built-in prompts of an installed package
                    messages.append(
                        f"{ref} in {folder.describe()} is not released: release it from the "
                        f"project's checkout with `summarise prompts lock`"
                    )
                    continue
                added.append(ref)
                if check:
                    messages.append(f"{ref} is not released: run `summarise prompts lock`")
                else:
                    new_entries[ref] = digest
    if new_entries and target is not None and not check:
        write_lock({**read_lock(target.path), **new_entries}, target.path)
    return LockReport(added, unchanged, mismatched, messages, target.path if target else None)
