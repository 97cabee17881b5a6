"""The request-level input guard: what no field, argument, file name or JSON body may carry, refused with a
400 before any view or service sees it, so that odd input never reaches the database or a parser as a 500.

- NUL, other C0 controls, DEL and lone surrogates: refused in query arguments, form fields, uploaded file
  names and JSON strings (tab, CR and LF are allowed in form and JSON text, where notes span lines).
  A form field that a `SafeForm` declares is left to the form, which shows the error beside the field
  and keeps what was typed (see forms_common.SafeForm); anything else is refused here.
- JSON bodies: size and nesting depth are checked on the raw bytes before the parser runs (Python's
  parser recurses and would overflow on '[' * 100000).
- Helpers for the values every route bounds the same way: `page_arg()` for ?page= and `safe_next()`.
"""
from __future__ import annotations

import re
from itertools import accumulate
from typing import TypeGuard

from flask import Flask, Response, abort, g, request
from flask_babel import lazy_gettext as _l

from .services.values import CONTROL, CONTROL_IN_TEXT

MAX_JSON_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32
MAX_PAGE = 100_000
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def init_app(app: Flask) -> None:
    app.before_request(refuse_unsafe_input)


def refuse_unsafe_input():
    """before_request: the whole request's text checked once; a 400 naming the field at fault."""
    for name, value in request.args.items(multi=True):
        if CONTROL.search(name) or CONTROL_IN_TEXT.search(value):
            return refuse(name, _l("This field contains characters that are not allowed."))
    for name, upload in request.files.items(multi=True):
        if upload.filename and CONTROL.search(upload.filename):
            return refuse(name, _l("The file name contains characters that are not allowed."))
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            declared = _declared_form_fields()
            for name, value in request.form.items(multi=True):
                if CONTROL.search(name):
                    return refuse(None, _l("This field contains characters that are not allowed."))
                if CONTROL_IN_TEXT.search(value) and (is_api() or name not in declared):
                    return refuse(name, _l("This field contains characters that are not allowed."))
        if request.is_json:
            return _check_json()
    return None


def _check_json():
    raw = request.get_data(cache=True)
    if len(raw) > MAX_JSON_BYTES:
        return refuse(None, _l("The request body may be at most %(n)d KB.", n=MAX_JSON_BYTES // 1024), 413)
    if json_depth(raw) > MAX_JSON_DEPTH:
        return refuse(None, _l("The JSON is nested more than %(n)d levels deep.", n=MAX_JSON_DEPTH))
    body = request.get_json(silent=True)  # cached: the view reads the same parsed body
    field = unsafe_json_field(body)
    if field is not None:
        return refuse(field or None, _l("This field contains characters that are not allowed."))
    return None


def json_depth(raw: bytes) -> int:
    """How deeply a JSON text nests arrays and objects, counted without parsing it (strings skipped)."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(1 if c in b"[{" else -1 for c in brackets), default=0)


def unsafe_json_field(value: object, path: str = "") -> str | None:
    """The dotted path of the first string (key or value) with a control character or lone surrogate."""
    if isinstance(value, str):
        return path if CONTROL_IN_TEXT.search(value) else None
    if isinstance(value, dict):
        for key, inner in value.items():
            here = f"{path}.{key}" if path else str(key)
            if CONTROL.search(str(key)):
                return path or CONTROL.sub("?", str(key))
            found = unsafe_json_field(inner, here)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, inner in enumerate(value):
            found = unsafe_json_field(inner, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def is_api() -> bool:
    return request.path.startswith("/api/")


def refuse(field: str | None, message: object, status: int = 400) -> tuple[Response, int]:
    """The API's JSON error naming the field; the 400 page otherwise."""
    if is_api():
        from .errors import api_error

        code = "too_large" if status == 413 else "bad_request"
        return api_error(status, code, message, CONTROL.sub("?", field) if field else None)
    g.guard_message = message
    abort(status)


def _declared_form_fields() -> set[str]:
    """Names of the fields that some SafeForm declares: those forms report bad characters themselves."""
    from .forms_common import declared_fields

    return declared_fields()


# --- helpers for values every route bounds the same way ------------------------------------------------------

def page_arg(name: str = "page") -> int:
    """?page= as a page number in [1, MAX_PAGE]; 1 when absent; a 400 for anything else."""
    text = request.args.get(name, "")
    if text == "":
        return 1
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PAGE:
        abort(400)
    return int(text)


def is_safe_next(target: str | None) -> TypeGuard[str]:
    """A redirect target on this site only: a path, no scheme or host, no '//' or '\\' tricks, and no
    control characters (CR/LF would split the Location header)."""
    from urllib.parse import urlsplit

    if not target or CONTROL.search(target) or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc
