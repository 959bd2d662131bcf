"""Turning jsonschema errors into Problems at their JSON paths (crux/common/formats.py builds
the paths), and the formats the engine's JSON Schemas check."""
from __future__ import annotations

from typing import Any

import jsonschema

from crux.common.formats import is_ident, json_path

from .model import ALREADY_EXIST, EMPTY, INVALID, REQUIRED, Problem, scalar_vals

# `"format": IDENTIFIER` in a JSON Schema: a string that is an identifier (is_ident). A format
# rather than a `pattern`, which jsonschema searches with `$` matching before a final newline.
IDENTIFIER = "crux-identifier"
FORMATS = jsonschema.FormatChecker(formats=())
FORMATS.checks(IDENTIFIER)(lambda value: not isinstance(value, str) or is_ident(value))


_TYPE_WORDS = {"object": "an object", "array": "a list", "string": "a string",
               "integer": "an integer", "number": "a number", "boolean": "a boolean"}


def schema_problems(validator: jsonschema.protocols.Validator, doc: Any, path: str) -> list[Problem]:
    """Every shape problem jsonschema finds in `doc`, as Problems with paths under `path`."""
    problems: list[Problem] = []
    errors = sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    for err in errors:
        where = list(err.absolute_path)
        kind = err.validator
        value: Any = err.validator_value
        if kind == "required":
            inst = err.instance if isinstance(err.instance, dict) else {}
            for key in value:
                if key not in inst:
                    problems.append(Problem(json_path(path, *where, key), REQUIRED,
                                            f"{key} is required"))
        elif kind == "type":
            want = value
            words = (" or ".join(_TYPE_WORDS.get(w, str(w)) for w in want) if isinstance(want, list)
                     else _TYPE_WORDS.get(want, str(want)))
            problems.append(Problem(json_path(path, *where), INVALID, f"must be {words}",
                                    scalar_vals(err.instance)))
        elif kind == "format":
            problems.append(Problem(json_path(path, *where), INVALID,
                                    f"{err.instance!r} is not a lower-case identifier "
                                    "(a-z first, then a-z, 0-9, _)", scalar_vals(err.instance)))
        elif kind == "enum":
            allowed = ", ".join(str(v) for v in value)
            problems.append(Problem(json_path(path, *where), INVALID,
                                    f"{err.instance!r} is not one of: {allowed}",
                                    scalar_vals(err.instance)))
        elif kind == "minItems":
            problems.append(Problem(json_path(path, *where), EMPTY, "must not be empty"))
        elif kind == "uniqueItems":
            problems.append(Problem(json_path(path, *where), ALREADY_EXIST,
                                    "must not repeat a value"))
        elif kind == "minimum":
            problems.append(Problem(json_path(path, *where), INVALID,
                                    f"must be at least {value}",
                                    scalar_vals(err.instance)))
        else:
            problems.append(Problem(json_path(path, *where), INVALID, err.message,
                                    scalar_vals(err.instance)))
    return problems


def under(problems: list[Problem], prefix: str) -> bool:
    """True when some problem lies at `prefix` or inside it."""
    inside = (prefix + ".", prefix + "[")
    return any(p.field == prefix or p.field.startswith(inside) for p in problems)
