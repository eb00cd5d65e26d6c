"""Answers in unusual shapes: the text of ``message.content`` whatever a server put there
(section 6 of :mod:`pipeline.providers`)."""

from __future__ import annotations

import json
from typing import Any

#: content-part types that are the model's thinking, not its answer
_THINKING_PARTS = frozenset({"thinking", "reasoning", "reasoning_content"})


def message_text(content: Any) -> str | None:
    """The answer text of a ``message.content``, or None when there is none.

    - a string (OpenAI and most servers): itself;
    - a list of content parts (``[{"type": "text", "text": ...}, ...]``, as some servers send
      for reasoning models): the text parts joined, thinking parts left out;
    - a JSON object or any other list (Cloudflare Workers AI sends structured output already
      parsed): that JSON, as text, so it is validated like any other answer.
    """
    if content is None or isinstance(content, str):
        return content
    if (
        isinstance(content, list)
        and content
        and all(isinstance(p, dict) and isinstance(p.get("type"), str) for p in content)
    ):
        texts = [
            p["text"]
            for p in content
            if p["type"] not in _THINKING_PARTS and isinstance(p.get("text"), str)
        ]
        return "".join(texts) if texts else None
    if isinstance(content, dict | list):
        return json.dumps(content, ensure_ascii=False)
    return None
