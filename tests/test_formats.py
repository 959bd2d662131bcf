"""One form each for identifiers, RFC 3339 timestamps and JSON paths, the same in the API, the
engine and the command line (crux/common/formats.py)."""
from __future__ import annotations

import datetime as dt

import pytest

from crux.common.formats import BadValue, format_timestamp, is_ident, json_path, parse_timestamp
from crux.engine import ValidationFailed, convert_entity, validate_schema
from tests.conftest import error_of

ACCEPTED = {
    "2026-01-31T10:00:00Z": "2026-01-31T10:00:00Z",
    "2026-01-31t10:00:00z": "2026-01-31T10:00:00Z",
    "2026-01-31 10:00:00Z": "2026-01-31T10:00:00Z",
    "2026-01-31T12:30:00+02:30": "2026-01-31T10:00:00Z",
    "2026-01-31T05:00:00.5-05:00": "2026-01-31T10:00:00.500000Z",
    "2026-01-31T10:00:00.1234569Z": "2026-01-31T10:00:00.123456Z",
}
REFUSED = ["2026-01-31T10:00:00",          # no offset
           "2026-01-31T10:00Z",            # no seconds
           "2026-01-31",                   # no time
           "2026-01-31T10:00:00+0200",     # offset without its colon
           "2026-01-31T10:00:00+02",
           "2026-02-30T10:00:00Z",         # no such day
           "2026-01-31T10:00:00+24:00",
           "20260131T100000Z",
           " 2026-01-31T10:00:00Z"]


@pytest.mark.parametrize("text, utc", ACCEPTED.items())
def test_accepted_timestamps(text, utc):
    assert format_timestamp(parse_timestamp(text)) == utc


@pytest.mark.parametrize("text", REFUSED)
def test_refused_timestamps(text):
    with pytest.raises(BadValue):
        parse_timestamp(text)


def test_format_timestamp():
    moment = dt.datetime(2026, 1, 31, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert format_timestamp(moment) == "2026-01-31T10:00:00Z"
    assert format_timestamp(moment, micro=True) == "2026-01-31T10:00:00.000000Z"
    assert format_timestamp(dt.datetime(2026, 1, 31, 10, 0, 0, 5)) == "2026-01-31T10:00:00.000005Z"  # naive: UTC
    assert format_timestamp(None) is None


ENTITY_SCHEMA = {"class": "order", "patternschema": [{"attr": "placed", "valtype": "ts"}],
                 "actionschema": {"tasks": ["ship"], "properties": []}}


@pytest.mark.parametrize("text", [*ACCEPTED, *REFUSED])
def test_the_api_and_the_engine_take_the_same_timestamps(realm, text):
    """capgrant's `from` and an entity's `ts` attribute accept and refuse the same forms."""
    grant = realm.call("capgrant", {"user": "ann", "cap": ["report"], "from": text})
    try:
        convert_entity(ENTITY_SCHEMA, {"placed": text})
        engine_ok = True
    except ValidationFailed:
        engine_ok = False
    assert engine_ok == (text in ACCEPTED)
    if text in ACCEPTED:
        assert grant.status_code == 200, grant.get_json()
        caps = realm.ok("capget", {"user": "ann"})["capabilities"]
        assert caps[0]["from"] == ACCEPTED[text]
    else:
        assert grant.status_code == 400
        assert error_of(grant)["field"] == "from" and error_of(grant)["errcode"] == "invalid"


@pytest.mark.parametrize("name, ok", [("a", True), ("order_2", True), ("abc\n", False), ("Abc", False),
                                      ("2abc", False), ("a-b", False), ("", False), ("é", False)])
def test_one_identifier_form(name, ok):
    assert is_ident(name) is ok
    schema = {"class": "order", "patternschema": [{"attr": name, "valtype": "int"}],
              "actionschema": {"tasks": ["ship"], "properties": []}}
    problems = validate_schema(schema, "B")
    assert (not problems) is ok, problems
    if not ok:
        assert problems[0].field == "patternschema[0].attr" and problems[0].errcode == "invalid"


def test_the_api_refuses_an_identifier_with_a_trailing_newline(realm):
    resp = realm.call("appnew", {"name": "shop\n", "descr": "x"})
    assert resp.status_code == 400 and error_of(resp)["field"] == "name"


def test_json_path():
    assert json_path("ruleset", 3, "ruleactions", "thencall") == "ruleset[3].ruleactions.thencall"
    assert json_path("", "x") == "x" and json_path(0, "a") == "[0].a" and json_path() == ""
