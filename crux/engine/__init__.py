"""Crux's matching engine: pure Python, no I/O, no Flask, no SQL, no mutable globals.

    validate_schema / normalize_schema        schema documents (SPEC §2.1)
    normalize_rules / validate_ruleset        rulesets and workflows (SPEC §2.2)
    convert_entity                            entities (SPEC §2.3)
    compile_family -> CompiledFamily.match    the matching engine (SPEC §3)
    make_tracedata                            the trace object (SPEC §3)
"""
from .compile import CompiledFamily, compile_family
from .entity import CompiledSchema, EntityConverter, convert_entity, make_converter
from .model import (
    ALREADY_EXIST,
    EMPTY,
    INVALID,
    NOT_ALLOWED,
    NOT_FOUND,
    REQUIRED,
    MatchError,
    MatchResult,
    Problem,
    RulesetInfo,
    ValidationFailed,
)
from .rules import normalize_rules, validate_ruleset
from .schema import normalize_schema, validate_schema
from .trace import make_tracedata

__all__ = [
    "Problem", "ValidationFailed", "MatchError", "MatchResult", "RulesetInfo",
    "validate_schema", "normalize_schema", "normalize_rules", "validate_ruleset",
    "convert_entity", "make_converter", "EntityConverter",
    "CompiledFamily", "CompiledSchema", "compile_family", "make_tracedata",
    "REQUIRED", "INVALID", "NOT_FOUND", "NOT_ALLOWED", "ALREADY_EXIST", "EMPTY",
]
