"""Versioned prompts: ``<folder>/<name>/vN.yaml``, locked by hash once released.

A prompt file holds ``name``, ``version``, ``description``, ``changelog``, ``schema``,
``parameters`` (``temperature``, ``max_output_tokens``, ``top_p``, ``seed``), the ``system`` and
``user`` templates and, optionally, ``kind`` (``summarise`` or ``judge``); its format is the JSON
Schema ``prompt_file.schema.json`` beside this file. Templates take ``{{article}}``,
``{{title}}``, ``{{date}}`` and ``{{source}}`` (and ``{{summary}}`` in a judge prompt). The
article is placed between ``<article>`` and ``</article>``; any such marker inside the article
text is neutralised so that the text cannot close the block early.

Prompts come from two folders (:mod:`._folders`): the built-in ones shipped in the package, and
the user's own (``$SUMMARISE_PROMPTS``, or ``./prompts`` when present), which add versions or
override built-in ones. Each folder's ``lock`` lists the sha256 of each released version's file
bytes. A locked version whose bytes change is an error; a version that is not yet in its lock is
a draft and may be run (with a note) until ``summarise prompts lock`` releases it.

Modules: ``_folders`` (where prompts live, the locks), ``_file`` (:class:`Prompt`, loading and
checking one file, kinds, rendering) and ``_lock`` (:func:`lock`).
"""

from __future__ import annotations

from pipeline.prompts._file import (
    KINDS,
    SCHEMA_FILE,
    Prompt,
    check_command,
    diff,
    load_file,
    load_prompt,
    locked_mismatch_message,
    parse_file,
    parse_ref,
)
from pipeline.prompts._folders import (
    Entry,
    Folder,
    available,
    builtin_folder,
    entries,
    prompts_dir,
    read_lock,
    search_folders,
    user_folder,
    where,
    write_lock,
)
from pipeline.prompts._lock import LockReport, lock

__all__ = [
    "KINDS",
    "SCHEMA_FILE",
    "Entry",
    "Folder",
    "LockReport",
    "Prompt",
    "available",
    "builtin_folder",
    "check_command",
    "diff",
    "entries",
    "load_file",
    "load_prompt",
    "lock",
    "locked_mismatch_message",
    "parse_file",
    "parse_ref",
    "prompts_dir",
    "read_lock",
    "search_folders",
    "user_folder",
    "where",
    "write_lock",
]
