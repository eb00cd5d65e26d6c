"""``python -m pipeline.server``: run the fake OpenAI server from a shell."""

from __future__ import annotations

from pipeline.server._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
