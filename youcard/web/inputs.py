"""Input nobody has a use for, refused before any view sees it: control characters in query
strings, forms and JSON texts (PostgreSQL refuses NUL with an error, and no field of ours
holds an escape or a bell), and JSON nested deeper than any body of ours."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import BadRequest

# C0 controls but tab, line feed and carriage return (a textarea sends those), DEL, C1.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
MAX_JSON_DEPTH = 32  # our bodies are two or three levels deep


class UnsafeInput(ValueError):
    """Input refused whole: a control character, or JSON nested too deep."""


def has_control_characters(text: str) -> bool:
    """Whether `text` holds a control character other than tab and line breaks."""
    return _CONTROL.search(text) is not None


def check_json(value: Any) -> None:
    """Walk a parsed body without recursion; UnsafeInput, saying where in words, if it nests
    deeper than MAX_JSON_DEPTH or a text (key or value) has a control character."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, where = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise UnsafeInput(f"The body is nested deeper than {MAX_JSON_DEPTH} levels.")
        if isinstance(item, str):
            if has_control_characters(item):
                raise UnsafeInput(
                    f"The field {where or '(the body)'} holds a control character (such as NUL)."
                )
        elif isinstance(item, dict):
            for key, inner in item.items():
                path = f"{where}.{key}" if where else str(key)
                if has_control_characters(str(key)):
                    raise UnsafeInput("A field name holds a control character (such as NUL).")
                stack.append((inner, depth + 1, path))
        elif isinstance(item, list):
            stack.extend((inner, depth + 1, f"{where}[{i}]") for i, inner in enumerate(item))


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused when a key appears twice ("last one wins" would let a proxy
    and the app read two different amounts from one body)."""
    value: dict[str, Any] = {}
    for key, inner in pairs:
        if key in value:
            raise UnsafeInput(f"The field {key} appears twice in one object.")
        value[key] = inner
    return value


def load_json(data: bytes) -> Any:
    """A request body as JSON: UTF-8, no key twice in an object, checked by `check_json`;
    else UnsafeInput with a sentence for a person. An empty body is JSONDecodeError (webargs
    then treats the body as missing)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UnsafeInput("The body is not UTF-8 text.") from None
    if not text:
        raise json.JSONDecodeError("empty", text, 0)
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as error:
        raise UnsafeInput(
            f"The body is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
        ) from None
    except RecursionError:
        raise UnsafeInput(f"The body is nested deeper than {MAX_JSON_DEPTH} levels.") from None
    check_json(value)
    return value


class ControlCharacters(BadRequest):
    """400: a query or form value holds a control character; `field` names where."""

    def __init__(self, field: str) -> None:
        super().__init__(
            f"The field {field[:64]!r} holds a control character (such as NUL)."
            if field and not has_control_characters(field)
            else "A field name holds a control character (such as NUL)."
        )
        self.field = field


UPLOADS = "youcard_uploads"  # endpoint -> the largest body it takes, in bytes


def allow_upload(app: Flask, endpoint: str, max_bytes: int) -> None:
    """Let `endpoint` take a body up to `max_bytes` (a file upload); every other request
    stays within MAX_CONTENT_LENGTH. The one place where the limit is raised: before the
    guard below reads the form."""
    app.extensions.setdefault(UPLOADS, {})[endpoint] = max_bytes


def init_input_guard(app: Flask) -> None:
    """Refuse (400, nothing done) a request whose query string or form holds a control
    character, before authentication and before any view reads it."""

    @app.before_request
    def _refuse_control_characters() -> None:
        asked = request._get_current_object()  # type: ignore[attr-defined]
        upload_limit = app.extensions.get(UPLOADS, {}).get(asked.endpoint)
        if upload_limit is not None:
            asked.max_content_length = upload_limit
        if asked.query_string:  # (most API calls have none: no MultiDict made for nothing)
            for key, value in asked.args.items(multi=True):
                if has_control_characters(key) or has_control_characters(value):
                    raise ControlCharacters(key)
        if asked.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for key, value in asked.form.items(multi=True):
                if has_control_characters(key) or has_control_characters(value):
                    raise ControlCharacters(key)
