"""The error of this package: a cassette that cannot be read or would be unsafe to write."""

from __future__ import annotations

from pipeline.errors import ConfigError


class CassetteError(ConfigError):
    """A cassette that cannot be read, or that would be unsafe to write."""
