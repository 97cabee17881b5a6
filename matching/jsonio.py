"""Strict JSON in and out.

In: nesting depth bounded *before* parsing (the standard parser recurses
and a 100,000-deep document would end in ``RecursionError``), no ``NaN`` or
``Infinity`` literals, integers of at most 40 digits.  Out: ``allow_nan=False``,
so a plan is always valid JSON.
"""
from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

#: deepest nesting a valid instance or plan needs is 5; leave room
MAX_DEPTH = 32
MAX_INT_DIGITS = 40
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


class JsonError(ValueError):
    """Refused JSON text; the message is one line."""


def nesting_depth(raw: bytes) -> int:
    """Deepest ``[``/``{`` nesting outside string literals (vectorised scan)."""
    bare = np.frombuffer(_STRINGS.sub(b'""', raw), dtype=np.uint8)
    step = (np.isin(bare, (ord("["), ord("{"))).astype(np.int64)
            - np.isin(bare, (ord("]"), ord("}"))).astype(np.int64))
    return int(np.cumsum(step).max()) if step.size else 0


def _no_constant(name: str) -> Any:
    raise JsonError(f"{name} is not a JSON number")


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise JsonError(f"an integer of {len(text.lstrip('-'))} digits is too long")
    return int(text)


def loads(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON text; raises :class:`JsonError` with a one-line reason."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    depth = nesting_depth(raw)
    if depth > max_depth:
        raise JsonError(f"nested {depth} levels deep, at most {max_depth}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonError(f"not UTF-8 text: {exc.reason}") from None
    try:
        return json.loads(text, parse_constant=_no_constant, parse_int=_int)
    except json.JSONDecodeError as exc:
        raise JsonError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:
        raise JsonError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


def dumps(data: Any) -> str:
    """JSON text of ``data``; ValueError if it holds NaN or an infinity."""
    return json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False) + "\n"
