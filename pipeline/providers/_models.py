"""Models and requests: the known-model table, learning a renamed or dropped parameter from a
400, the request's shape for the rest of the run, the output budget (sections 1 and 2 of
:mod:`pipeline.providers`)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# -- 1. models ---------------------------------------------------------------------------------

#: the request parameter that holds the output budget, by generation of the API
OUTPUT_PARAMS = ("max_tokens", "max_completion_tokens")
#: sampling parameters a reasoning model accepts only at their defaults
SAMPLING_PARAMS = ("temperature", "top_p", "presence_penalty", "frequency_penalty", "logprobs")
#: parameters that may be dropped when a server refuses them; anything else is left alone
#: (``response_format`` has its own fallback; ``model`` and ``messages`` are the request)
DROPPABLE = frozenset(
    {*SAMPLING_PARAMS, "seed", "stop", "reasoning_effort", "top_k", "n", "user", "top_logprobs"}
)
#: output tokens a reasoning model may spend thinking before it writes the answer
REASONING_ALLOWANCE = 8_000


@dataclass(frozen=True)
class ModelTraits:
    """What a model is known to need before any answer says so."""

    output_param: str = "max_tokens"
    drops: frozenset[str] = frozenset()
    reasoning: bool = False
    takes_reasoning_effort: bool | None = None  # None: unknown, send it and learn


_REASONING = ModelTraits(
    output_param="max_completion_tokens",
    drops=frozenset(SAMPLING_PARAMS),
    reasoning=True,
    takes_reasoning_effort=True,
)
#: known model families, matched on the name without a provider prefix (``openai/o3``)
KNOWN_MODELS: tuple[tuple[re.Pattern[str], ModelTraits], ...] = (
    (re.compile(r"^(o1|o3|o4)(-|$)"), _REASONING),
    (re.compile(r"^gpt-5(?!.*-chat)"), _REASONING),  # gpt-5-chat-latest is not a reasoner
    (re.compile(r"^(gpt-4|gpt-3\.5|chatgpt-4o)"), ModelTraits(takes_reasoning_effort=False)),
)


def model_traits(model: str) -> ModelTraits:
    """The known traits of ``model`` (an unknown model gets the defaults)."""
    name = model.rsplit("/", 1)[-1].lower()
    for pattern, traits in KNOWN_MODELS:
        if pattern.search(name):
            return traits
    return ModelTraits()


# -- 2. learning from a 400 -------------------------------------------------------------------


@dataclass(frozen=True)
class Adaptation:
    """One change to the request: rename ``param`` (``to`` set), cap its value (``cap`` set),
    or drop it (neither). ``param`` :data:`SYSTEM_ROLE` means "fold the system message into
    the first user message" (a model that takes no system role)."""

    param: str
    to: str | None = None
    cap: int | None = None

    @property
    def note(self) -> str:
        if self.param == SYSTEM_ROLE:
            return (
                "the server takes no system message: sending the instructions in the user message"
            )
        if self.cap is not None:
            return f"the server takes {self.param} up to {self.cap}: capping it there"
        if self.to:
            return f"the server takes {self.to!r}, not {self.param!r}: sending {self.to}"
        return f"the server does not take {self.param!r}: not sending it"


#: the pseudo-parameter of a model that refuses the ``system`` role (OpenAI's o1-mini)
SYSTEM_ROLE = "system-role"
_QUOTED = r"['\"`]?([a-z_]+)['\"`]?"
_USE_INSTEAD = re.compile(r"use\s+" + _QUOTED + r"\s+instead", re.I)
_UNSUPPORTED = re.compile(
    r"(?:unsupported|unknown|unrecognized|unexpected|extra)\s+"
    r"(?:parameter|value|argument|field|request argument|keyword argument)s?"
    r"(?:\s+supplied)?\s*[:=]?\s*" + _QUOTED,
    re.I,
)
_NOT_SUPPORTED = re.compile(_QUOTED + r"\s+(?:is\s+)?not\s+(?:supported|permitted|allowed)", re.I)
_ONLY_DEFAULT = re.compile(r"only the default|does not support .* with this model", re.I)
#: the wording of a server that refuses a parameter outright (not one that objects to its value)
_REFUSES = re.compile(
    r"unsupported|not supported|unknown|unrecognized|unexpected|not permitted|not allowed|"
    r"extra inputs|extra_forbidden|does not support|only the default|no such parameter|"
    r"use\s+\S+\s+instead",
    re.I,
)
#: "Expected a value <= 16384", "supports at most 4096 completion tokens", "must be <= 8192"
_AT_MOST = re.compile(
    r"(?:<=\s*|at most\s+|maximum(?: value)?(?: is| of)?\s+|must be less than or equal to\s+)"
    r"(\d{2,7})",
    re.I,
)
_SYSTEM = re.compile(
    r"'?system'?\s.*(?:role|not supported|does not support)|"
    r"(?:role|messages\[\d+\]\.role).*'system'",
    re.I,
)


def adaptation_for(message: str, param: Any, request: Mapping[str, Any]) -> Adaptation | None:
    """The change to ``request`` that a 400 with this message and ``param`` asks for, or None.

    Only a parameter the request actually holds is changed, only when the server refuses the
    parameter itself (not just its value), and only one this project may do without
    (:data:`DROPPABLE` and the output budget's name); an output budget over the model's
    maximum is capped at the maximum the message names; a model that refuses the ``system``
    role gets the instructions in the user message. A 400 about the messages' content, the
    model or ``response_format`` is never "adapted" away.
    """
    low = message.lower()
    p = param.split(".")[0].split("[")[0] if isinstance(param, str) and param else ""
    has_system = any(
        isinstance(m, dict) and m.get("role") == "system" for m in request.get("messages") or []
    )
    if has_system and (p == "messages" or "role" in low) and _SYSTEM.search(message):
        return Adaptation(SYSTEM_ROLE)
    named: list[str] = [p] if p else []
    for rx in (_UNSUPPORTED, _NOT_SUPPORTED):
        named += [m.group(1) for m in rx.finditer(message)]
    instead = _USE_INSTEAD.search(message)
    refuses = bool(_REFUSES.search(message))
    for name in dict.fromkeys(named):
        if name not in request:
            continue
        if name in OUTPUT_PARAMS:
            cap = _AT_MOST.search(message)
            value = request.get(name)
            if cap and not instead and isinstance(value, int) and int(cap.group(1)) < value:
                return Adaptation(name, cap=int(cap.group(1)))
            other = OUTPUT_PARAMS[1 - OUTPUT_PARAMS.index(name)]
            if instead and instead.group(1) == other or (refuses and not instead):
                return Adaptation(name, other)
            continue
        if not refuses:
            continue  # an objection to the value ("must be between 0 and 2"), not the name
        if instead and instead.group(1) != name and instead.group(1) not in request:
            return Adaptation(name, instead.group(1))
        if name in DROPPABLE:
            return Adaptation(name)
    if _ONLY_DEFAULT.search(low):  # "temperature does not support 0 ..." with no param field
        for name in SAMPLING_PARAMS:
            if name in request and name in low:
                return Adaptation(name)
    return None


@dataclass
class RequestShape:
    """What one run has learnt about the request one model takes: renames, drops, caps, and
    whether it takes a system message."""

    renames: dict[str, str] = field(default_factory=dict)
    drops: set[str] = field(default_factory=set)
    caps: dict[str, int] = field(default_factory=dict)
    no_system: bool = False
    thinks: bool = False  # an answer reported reasoning tokens

    @classmethod
    def for_model(cls, model: str) -> RequestShape:
        traits = model_traits(model)
        shape = cls(drops=set(traits.drops))
        if traits.output_param != "max_tokens":
            shape.renames["max_tokens"] = traits.output_param
        if traits.takes_reasoning_effort is False:
            shape.drops.add("reasoning_effort")
        return shape

    def learn(self, change: Adaptation) -> bool:
        """Remember ``change``; False when it was already known (nothing new to say)."""
        if change.param == SYSTEM_ROLE:
            new = not self.no_system
            self.no_system = True
            return new
        if change.cap is not None:
            name = self.renames.get(change.param, change.param)
            if self.caps.get(name) is not None and self.caps[name] <= change.cap:
                return False
            self.caps[name] = change.cap
            return True
        if change.to is None:
            if change.param in self.drops:
                return False
            self.drops.add(change.param)
            return True
        # a rename of a name that is itself the result of a rename undoes it
        for src, dst in list(self.renames.items()):
            if dst == change.param:
                if change.to == src:
                    del self.renames[src]
                else:
                    self.renames[src] = change.to
                return True
        if self.renames.get(change.param) == change.to:
            return False
        self.renames[change.param] = change.to
        return True

    def apply(self, request: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in request.items():
            if key in self.drops:
                continue
            name = self.renames.get(key, key)
            cap = self.caps.get(name)
            if cap is not None and isinstance(value, int):
                value = min(value, cap)
            out[name] = value
        if self.no_system and isinstance(out.get("messages"), list):
            out["messages"] = _fold_system(out["messages"])
        return out

    def to_json(self) -> str:
        """This shape as JSON (kept with a batch job: its lines are rebuilt in it)."""
        return json.dumps(
            {
                "renames": self.renames,
                "drops": sorted(self.drops),
                "caps": self.caps,
                "no_system": self.no_system,
                "thinks": self.thinks,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> RequestShape:
        data = json.loads(text)
        return cls(
            renames=dict(data.get("renames") or {}),
            drops=set(data.get("drops") or ()),
            caps={str(k): int(v) for k, v in (data.get("caps") or {}).items()},
            no_system=bool(data.get("no_system")),
            thinks=bool(data.get("thinks")),
        )

    def capped(self, name: str, value: int) -> int:
        cap = self.caps.get(name)
        return value if cap is None else min(value, cap)

    @property
    def reasoning(self) -> bool:
        """A model that reasons: it takes ``max_completion_tokens`` (known or learnt), or an
        answer reported reasoning tokens. Its output budget gets room to think."""
        return self.thinks or self.renames.get("max_tokens") == "max_completion_tokens"


def _fold_system(messages: list[Any]) -> list[Any]:
    """The system message(s) put at the head of the first user message."""
    system = [
        m.get("content", "") for m in messages if isinstance(m, dict) and m.get("role") == "system"
    ]
    rest = [m for m in messages if not (isinstance(m, dict) and m.get("role") == "system")]
    if not system:
        return messages
    out = [dict(m) if isinstance(m, dict) else m for m in rest]
    for m in out:
        if isinstance(m, dict) and m.get("role") == "user" and isinstance(m.get("content"), str):
            m["content"] = "\n\n".join([*system, m["content"]])
            break
    else:
        out.insert(0, {"role": "user", "content": "\n\n".join(system)})
    return out


def output_budget(requested: int, *, reasoning: bool) -> int:
    """The output budget to send: a reasoning model gets room to think before it answers."""
    return requested + REASONING_ALLOWANCE if reasoning else requested
