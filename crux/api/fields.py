"""Marshmallow fields shared by every call's payload schema.

Messages start with a catalog errcode ("invalid: ...") so the envelope reports the right msgid.
"""
from __future__ import annotations

import re

from marshmallow import ValidationError, fields

from crux.common.formats import IDENT_PATTERN, format_timestamp, is_ident, parse_timestamp

UPPER_IDENT = re.compile(r"^[A-Z][A-Z0-9_]*$")


class Name(fields.String):
    """A lower-case identifier; with `fold=True` any case is accepted and lower-cased (app names)."""

    def __init__(self, *, fold: bool = False, keep_case: bool = False, **kw):
        super().__init__(**kw)
        self.fold = fold or keep_case
        self.keep_case = keep_case
        self.metadata.setdefault("pattern", IDENT_PATTERN)

    def _deserialize(self, value, attr, data, **kw):
        given = super()._deserialize(value, attr, data, **kw)
        text = given.lower() if self.fold else given
        if not is_ident(text) or len(text) > 64:
            raise ValidationError("invalid: must be an identifier: a lower-case letter, then letters, digits or _ (at most 64)")
        return given if self.keep_case else text


class UpperName(fields.String):
    """An upper-case identifier given in any case (config names)."""

    def _deserialize(self, value, attr, data, **kw):
        text = super()._deserialize(value, attr, data, **kw).upper()
        if not UPPER_IDENT.fullmatch(text) or len(text) > 64:
            raise ValidationError("invalid: must be an identifier of letters, digits and _ starting with a letter")
        return text


class UserName(fields.String):
    """A user name as tokens carry it (lower-cased)."""

    def _deserialize(self, value, attr, data, **kw):
        text = super()._deserialize(value, attr, data, **kw).strip().lower()
        if not text:
            raise ValidationError("empty: a user name is required")
        if len(text) > 256:
            raise ValidationError("too_long: at most 256 characters")
        return text


MAX_ID = 2**63 - 1  # ids are bigint


def is_id(value) -> bool:
    """A positive JSON integer that fits the database's bigint."""
    return type(value) is int and 1 <= value <= MAX_ID


def ident(value, fold: bool = False) -> str | None:
    """The identifier `value` (lower-cased with `fold`), or None when it is not one."""
    if type(value) is not str or len(value) > 64:
        return None
    value = value.lower() if fold else value
    return value if is_ident(value) else None


class Id(fields.Integer):
    """A positive JSON integer (ids and slice numbers)."""

    def __init__(self, *, most: int = MAX_ID, **kw):
        super().__init__(strict=True, **kw)
        self.most = most
        self.metadata.setdefault("minimum", 1)
        self.metadata.setdefault("maximum", most)

    def _deserialize(self, value, attr, data, **kw):
        if isinstance(value, bool):
            raise ValidationError("invalid: must be an integer")
        number = super()._deserialize(value, attr, data, **kw)
        if number < 1:
            raise ValidationError("too_small: must be 1 or more")
        if number > self.most:
            raise ValidationError(f"too_large: must be at most {self.most}")
        return number


class StrictBool(fields.Boolean):
    """Only JSON true/false."""

    def _deserialize(self, value, attr, data, **kw):
        if not isinstance(value, bool):
            raise ValidationError("invalid: must be true or false")
        return value


class Timestamp(fields.Field):
    """An RFC 3339 timestamp string -> aware UTC datetime."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.metadata.setdefault("type", "string")
        self.metadata.setdefault("format", "date-time")

    def _deserialize(self, value, attr, data, **kw):
        try:
            return parse_timestamp(value)
        except (ValueError, TypeError):
            raise ValidationError("invalid: must be an RFC 3339 timestamp such as 2026-01-31T10:00:00Z") from None

    def _serialize(self, value, attr, obj, **kw):
        return format_timestamp(value)


class Text(fields.String):
    """Free text with a length limit (and, with `nonempty`, not empty)."""

    def __init__(self, max_length: int = 1000, nonempty: bool = False, **kw):
        super().__init__(**kw)
        self.max_length = max_length
        self.nonempty = nonempty
        self.metadata.setdefault("maxLength", max_length)

    def _deserialize(self, value, attr, data, **kw):
        text = super()._deserialize(value, attr, data, **kw)
        if len(text) > self.max_length:
            raise ValidationError(f"too_long: at most {self.max_length} characters")
        if self.nonempty and not text:
            raise ValidationError("empty: must not be empty")
        return text
