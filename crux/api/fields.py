"""Marshmallow fields shared by every call's payload schema.

Every message starts with a catalog errcode ("invalid: ...") so the envelope reports the right
msgid: ours are written so, and marshmallow's own are prefixed by their kind (`Coded`), never
recognised by their English wording.
"""
from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, fields

from crux.common.formats import IDENT_PATTERN, format_timestamp, is_ident, parse_timestamp

UPPER_IDENT = re.compile(r"^[A-Z][A-Z0-9_]*$")

# marshmallow's error kinds (the keys of a field's error_messages) -> errcode; any other kind
# ("invalid", "validator_failed", ...) is `invalid`
_ERRCODE_OF_KIND = {"required": "required", "null": "required", "too_large": "too_large"}


def describe(field: fields.Field, **meta) -> None:
    """Add to a field's API-document metadata (what the declaration gave wins)."""
    field.metadata = {**meta, **field.metadata}


class Coded:
    """A field whose marshmallow messages start with the errcode of their kind."""

    error_messages: dict[str, Any]      # marshmallow's Field sets it (this class comes before it)

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.error_messages = {kind: f"{_ERRCODE_OF_KIND.get(kind, 'invalid')}: {text}"
                               for kind, text in self.error_messages.items()}


class Field(Coded, fields.Field):
    pass


class String(Coded, fields.String):
    pass


class Integer(Coded, fields.Integer):
    pass


class Float(Coded, fields.Float):
    pass


class Boolean(Coded, fields.Boolean):
    pass


class Dict(Coded, fields.Dict):
    pass


class Raw(Coded, fields.Raw):
    pass


class List(Coded, fields.List):
    pass


class Name(String):
    """A lower-case identifier; with `fold=True` any case is accepted and lower-cased (app names)."""

    def __init__(self, *, fold: bool = False, keep_case: bool = False, **kw):
        super().__init__(**kw)
        self.fold = fold or keep_case
        self.keep_case = keep_case
        describe(self, pattern=IDENT_PATTERN)

    def _deserialize(self, value, attr, data, **kw):
        given = super()._deserialize(value, attr, data, **kw)
        text = given.lower() if self.fold else given
        if not is_ident(text) or len(text) > 64:
            raise ValidationError("invalid: must be an identifier: a lower-case letter, then letters, digits or _ "
                                  "(at most 64)")
        return given if self.keep_case else text


class UpperName(String):
    """An upper-case identifier given in any case (config names)."""

    def _deserialize(self, value, attr, data, **kw):
        text = super()._deserialize(value, attr, data, **kw).upper()
        if not UPPER_IDENT.fullmatch(text) or len(text) > 64:
            raise ValidationError("invalid: must be an identifier of letters, digits and _ starting with a letter")
        return text


class UserName(String):
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


class Id(Integer):
    """A positive JSON integer (ids and slice numbers)."""

    def __init__(self, *, most: int = MAX_ID, **kw):
        super().__init__(strict=True, **kw)
        self.most = most
        describe(self, minimum=1, maximum=most)

    def _deserialize(self, value, attr, data, **kw):
        if isinstance(value, bool):
            raise ValidationError("invalid: must be an integer")
        number = super()._deserialize(value, attr, data, **kw)
        if number < 1:
            raise ValidationError("too_small: must be 1 or more")
        if number > self.most:
            raise ValidationError(f"too_large: must be at most {self.most}")
        return number


class StrictBool(Boolean):
    """Only JSON true/false."""

    def _deserialize(self, value, attr, data, **kw):
        if not isinstance(value, bool):
            raise ValidationError("invalid: must be true or false")
        return value


class Timestamp(Field):
    """An RFC 3339 timestamp string -> aware UTC datetime."""

    def __init__(self, **kw):
        super().__init__(**kw)
        describe(self, type="string", format="date-time")

    def _deserialize(self, value, attr, data, **kw):
        try:
            return parse_timestamp(value)
        except (ValueError, TypeError):
            raise ValidationError("invalid: must be an RFC 3339 timestamp such as 2026-01-31T10:00:00Z") from None

    def _serialize(self, value, attr, obj, **kw):
        return format_timestamp(value)


class Bounded(Field):
    """A JSON number from `low` to `high` (an integer unless `whole` is False)."""
    low: float = 0
    high: float = 0

    def __init__(self, low=None, high=None, *, whole: bool = True, **kw):
        super().__init__(**kw)
        self.low = type(self).low if low is None else low
        self.high = type(self).high if high is None else high
        self.whole = whole
        describe(self, type="integer" if whole else "number", minimum=self.low, maximum=self.high)

    def _deserialize(self, value, attr, data, **kw):
        kinds = (int,) if self.whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not self.low <= value <= self.high:
            raise ValidationError(f"invalid: {'an integer' if self.whole else 'a number'} "
                                  f"from {self.low:,} to {self.high:,}")
        return value


class Text(String):
    """Free text with a length limit (and, with `nonempty`, not empty)."""

    def __init__(self, max_length: int = 1000, nonempty: bool = False, **kw):
        super().__init__(**kw)
        self.max_length = max_length
        self.nonempty = nonempty
        describe(self, maxLength=max_length)

    def _deserialize(self, value, attr, data, **kw):
        text = super()._deserialize(value, attr, data, **kw)
        if len(text) > self.max_length:
            raise ValidationError(f"too_long: at most {self.max_length} characters")
        if self.nonempty and not text:
            raise ValidationError("empty: must not be empty")
        return text


MOST_NAMES = 1000


class NameList(List):
    """A list of names (apps, capabilities), at most `most` long, duplicates collapsed (first
    kept). The length is checked before any item, so an oversized list is refused at once."""

    def __init__(self, item: fields.Field, *, most: int = MOST_NAMES, nonempty: bool = False, **kw):
        super().__init__(item, **kw)
        self.most, self.nonempty = most, nonempty
        describe(self, maxItems=most, uniqueItems=True)

    def _deserialize(self, value, attr, data, **kw):
        if isinstance(value, list):
            if len(value) > self.most:
                raise ValidationError(f"too_long: at most {self.most} entries")
            if self.nonempty and not value:
                raise ValidationError("invalid: name at least one")
        return list(dict.fromkeys(super()._deserialize(value, attr, data, **kw)))


class Choice(String):
    """One of a fixed list of names (capabilities); with `fold`, matched in any case."""

    def __init__(self, choices, what: str, *, fold: bool = False, **kw):
        super().__init__(**kw)
        self.choices, self.what, self.fold = tuple(choices), what, fold
        self.metadata = {**self.metadata, "enum": list(self.choices)}

    def _deserialize(self, value, attr, data, **kw):
        name = super()._deserialize(value, attr, data, **kw)
        if name not in self.choices and self.fold:
            name = name.lower()
        if name not in self.choices:
            raise ValidationError(f"invalid: unknown {self.what} {value}")
        return name


def _folded(value):
    if isinstance(value, dict):
        return {k.lower() if isinstance(k, str) else k: v for k, v in value.items()}
    return value


class FoldedKeys(Raw):
    """Any JSON value; an object's keys are lower-cased, as the original service's decoder
    matched them without regard to case (`Tasks`, `ValType`)."""

    def _deserialize(self, value, attr, data, **kw):
        return _folded(super()._deserialize(value, attr, data, **kw))


class FoldedDict(Dict):
    """A JSON object whose keys are lower-cased (see FoldedKeys)."""

    def _deserialize(self, value, attr, data, **kw):
        return _folded(super()._deserialize(value, attr, data, **kw))
