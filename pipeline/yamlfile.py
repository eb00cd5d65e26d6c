"""Reading YAML files the user edits (prompt versions, price tables) with one-line errors.

PyYAML's own messages span several lines and name ``<byte string>`` or ``<unicode string>``
instead of the file. :func:`load_yaml` reports ``FILE, line L, column C: problem`` on one
line, and :func:`line_of` finds the line of a key path (``["parameters", "temperature"]``)
so that a later check can point at the field it rejects.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml


class YamlFileError(ValueError):
    """A YAML file that cannot be parsed; ``str()`` is one line naming the file and line."""


def load_yaml(text: str | bytes, path: str | Path) -> Any:
    """Parse ``text`` (the contents of ``path``) with the safe loader."""
    import yaml  # here, not at the top: ``summarise --help`` needs no YAML

    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        raise YamlFileError(describe(exc, path)) from exc
    except yaml.YAMLError as exc:  # no position known (a reader or encoding problem)
        raise YamlFileError(f"{path}: {' '.join(str(exc).split())}") from exc


def describe(exc: yaml.MarkedYAMLError, path: str | Path) -> str:
    """``FILE, line L, column C: problem (context)`` on one line."""
    mark = exc.problem_mark or exc.context_mark
    where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
    problem = " ".join(str(exc.problem or "invalid YAML").split())
    context = " ".join(str(exc.context or "").split())
    return f"{where}: {problem}" + (f" ({context})" if context else "")


def line_of(text: str | bytes, path: Sequence[str | int]) -> int | None:
    """The 1-based line where the value at ``path`` starts (its key's line for a mapping key).

    Walks as far as the path exists; None when the text does not parse or is not a mapping.
    """
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    line: int | None = node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
