"""`reference` is a drop-in for `http.client`: same names, signatures, class attributes and exceptions.

Everything is compared programmatically against the `http.client` of the running Python (the API of
3.12 and 3.13 is the same apart from the reason phrases and the status-constant aliases that 3.13
adds, and those come from the running Python on both sides), so the expected side is never a
hand-written list: the names to check are `http.client.__all__`, plus the public module names that
the documentation describes but `__all__` leaves out, plus every `HTTPStatus` constant the module
exposes; the methods to check are the public members of the stdlib classes.

Signature compatibility (`assert_compatible`): every call that is valid against stdlib must be valid
against the reference and mean the same thing. So, parameter by parameter, in order: same name, same
kind, same default (a default may be equal rather than identical, but the `socket` timeout sentinel
must be the very same object). Allowed differences, none of which can break a caller:
- the reference may add keyword-only parameters that have defaults;
- a stdlib positional-only parameter may be positional-or-keyword in the reference, and then its
  name does not matter (callers cannot have used it);
- the names of `*args` / `**kwargs` do not matter;
- a stdlib parameter whose name starts with `_` (undocumented, e.g. `parse_headers(fp, _class=...)`)
  may be absent from the reference when it has a default.

The reference is imported inside each test, so an unimportable reference fails every test with the
import error as its message, and collection (which only looks at stdlib) still works.
"""

from __future__ import annotations

import http
import http.client
import importlib
import inspect
import io
import socket
import sys
from types import ModuleType
from typing import Any

import pytest

STDLIB = http.client
REFERENCE_MODULE = "h1conform.reference"

# Public module names that http.client documents and exposes but leaves out of its __all__.
EXTRA_NAMES = ("HTTP_PORT", "HTTPS_PORT", "HTTPMessage", "parse_headers")

ALL_NAMES = tuple(STDLIB.__all__)
# Every module-level HTTPStatus constant (OK, NOT_FOUND, ... and 3.13's aliases such as CONTENT_TOO_LARGE).
STATUS_CONSTANTS = tuple(sorted(name for name, value in vars(STDLIB).items() if isinstance(value, http.HTTPStatus)))
CALLABLE_NAMES = tuple(
    name for name in ALL_NAMES + EXTRA_NAMES
    if inspect.isclass(getattr(STDLIB, name)) or inspect.isfunction(getattr(STDLIB, name))
)
CLASS_NAMES = tuple(name for name in CALLABLE_NAMES if inspect.isclass(getattr(STDLIB, name)))
EXCEPTION_NAMES = tuple(
    name for name in ALL_NAMES
    if inspect.isclass(getattr(STDLIB, name)) and issubclass(getattr(STDLIB, name), BaseException)
)
# The classes whose every public member the reference must have.
MEMBER_CLASSES = ("HTTPConnection", "HTTPSConnection", "HTTPResponse")
MEMBERS = tuple(
    (cls, member) for cls in MEMBER_CLASSES for member in sorted(dir(getattr(STDLIB, cls)))
    if not member.startswith("_")
)
# Class attributes of the connection classes whose values are part of the API.
CONNECTION_CLASS_ATTRIBUTES = ("default_port", "auto_open", "debuglevel")


def ref() -> ModuleType:
    """The reference module, or fail the calling test with why it cannot be imported."""
    try:
        return importlib.import_module(REFERENCE_MODULE)
    except Exception as exc:  # an incomplete reference: every test says so rather than erroring
        pytest.fail(f"`import {REFERENCE_MODULE}` fails: {type(exc).__name__}: {exc}", pytrace=False)


def ref_attr(owner: Any, name: str, label: str) -> Any:
    if not hasattr(owner, name):
        pytest.fail(f"reference lacks {label}", pytrace=False)
    return getattr(owner, name)


# ---------------------------------------------------------------------------------------------
# Signature comparison


def signature_or_none(obj: Any) -> inspect.Signature | None:
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):  # e.g. exception classes that only inherit BaseException's C init
        return None


# BaseException takes any positional arguments and no keyword arguments: what an exception class
# without a Python-level __init__ accepts, and what inspect cannot tell us.
_BASE_EXCEPTION_SIGNATURE = inspect.Signature([inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL)])


def effective_signature(obj: Any) -> inspect.Signature | None:
    sig = signature_or_none(obj)
    if sig is None and inspect.isclass(obj) and issubclass(obj, BaseException):
        return _BASE_EXCEPTION_SIGNATURE
    return sig


def _same_default(expected: Any, actual: Any) -> bool:
    if expected is inspect.Parameter.empty or actual is inspect.Parameter.empty:
        return expected is actual
    if expected is socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
        return actual is expected  # callers pass this very sentinel (urllib does)
    try:
        return type(expected) is type(actual) and bool(expected == actual)
    except Exception:
        return expected is actual


def signature_problems(expected: inspect.Signature, actual: inspect.Signature) -> list[str]:
    """Why a call valid against `expected` may fail or change meaning against `actual`; [] if none."""
    P = inspect.Parameter
    problems: list[str] = []
    exp_params = [p for p in expected.parameters.values()
                  if not (p.name.startswith("_") and p.default is not P.empty and p.name not in actual.parameters)]
    act_params = list(actual.parameters.values())
    exp_names = {p.name for p in exp_params}
    # Extra keyword-only parameters with defaults are allowed; put them aside.
    extras = [p for p in act_params if p.kind is P.KEYWORD_ONLY and p.name not in exp_names]
    for p in extras:
        if p.default is P.empty:
            problems.append(f"adds a required keyword-only parameter {p.name!r}")
    act_params = [p for p in act_params if p not in extras]

    exp_pos = [p for p in exp_params if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
    act_pos = [p for p in act_params if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
    for index, e in enumerate(exp_pos):
        if index >= len(act_pos):
            problems.append(f"lacks positional parameter #{index} {e.name!r}")
            continue
        a = act_pos[index]
        if e.kind is P.POSITIONAL_OR_KEYWORD:
            if a.kind is not P.POSITIONAL_OR_KEYWORD:
                problems.append(f"parameter #{index} {e.name!r} is {a.kind.description}, not {e.kind.description}")
            if a.name != e.name:
                problems.append(f"parameter #{index} is named {a.name!r}, not {e.name!r}")
        if not _same_default(e.default, a.default):
            problems.append(f"parameter {e.name!r} has default {_show(a.default)}, not {_show(e.default)}")
    for a in act_pos[len(exp_pos):]:
        if a.default is P.empty:
            problems.append(f"adds a required positional parameter {a.name!r}")

    exp_kw = {p.name: p for p in exp_params if p.kind is P.KEYWORD_ONLY}
    act_kw = {p.name: p for p in act_params if p.kind is P.KEYWORD_ONLY}
    act_by_name = {p.name: p for p in act_params}
    for name, e in exp_kw.items():
        found = act_kw.get(name)
        if found is None:
            if name in act_by_name and act_by_name[name].kind is P.POSITIONAL_OR_KEYWORD:
                found = act_by_name[name]
                problems.append(f"parameter {name!r} is {found.kind.description}, not keyword-only")
            else:
                problems.append(f"lacks keyword-only parameter {name!r}")
                continue
        if not _same_default(e.default, found.default):
            problems.append(f"parameter {name!r} has default {_show(found.default)}, not {_show(e.default)}")

    for kind in (P.VAR_POSITIONAL, P.VAR_KEYWORD):
        has_exp = any(p.kind is kind for p in exp_params)
        has_act = any(p.kind is kind for p in act_params)
        if has_exp and not has_act:
            problems.append(f"lacks {'*args' if kind is P.VAR_POSITIONAL else '**kwargs'}")
    return problems


def _show(default: Any) -> str:
    return "no default" if default is inspect.Parameter.empty else repr(default)


def assert_compatible(label: str, expected_obj: Any, actual_obj: Any) -> None:
    expected = effective_signature(expected_obj)
    actual = effective_signature(actual_obj)
    if expected is None:
        pytest.skip(f"{label}: inspect gives no signature for stdlib's")
    if actual is None:
        pytest.fail(f"{label}: inspect gives no signature for the reference's (stdlib: {expected})", pytrace=False)
    problems = signature_problems(expected, actual)
    if problems:
        pytest.fail(f"{label}{actual} is not compatible with stdlib's {label}{expected}: " + "; ".join(problems),
                    pytrace=False)


# ---------------------------------------------------------------------------------------------
# Self-checks of the comparison itself, so a lenient comparator cannot make everything pass.


def _sig(func: Any) -> inspect.Signature:
    return inspect.signature(func)


@pytest.mark.parametrize(("stdlib_sig", "ref_sig", "compatible"), [
    pytest.param(lambda a, b=1: 0, lambda a, b=1: 0, True, id="same"),
    pytest.param(lambda a, b=1: 0, lambda a, b=1, *, c=2: 0, True, id="extra-kwonly-with-default"),
    pytest.param(lambda a, b=1: 0, lambda a, b=1, *, c: 0, False, id="extra-required-kwonly"),
    pytest.param(lambda a, b=1: 0, lambda a, c=1: 0, False, id="renamed"),
    pytest.param(lambda a, b=1: 0, lambda a, b=2: 0, False, id="other-default"),
    pytest.param(lambda a, b=1: 0, lambda a, b: 0, False, id="default-dropped"),
    pytest.param(lambda a, b=1: 0, lambda a: 0, False, id="param-dropped"),
    pytest.param(lambda a: 0, lambda a, b: 0, False, id="extra-required-positional"),
    pytest.param(lambda a, /: 0, lambda x: 0, True, id="positional-only-widened"),
    pytest.param(lambda a: 0, lambda a, /: 0, False, id="narrowed-to-positional-only"),
    pytest.param(lambda a, *, k=False: 0, lambda a, k=False: 0, False, id="kwonly-made-positional"),
    pytest.param(lambda *pos, **kw: 0, lambda *args, **kwargs: 0, True, id="var-names-free"),
    pytest.param(lambda *pos, **kw: 0, lambda *args: 0, False, id="var-keyword-dropped"),
    pytest.param(lambda fp, _class=dict: 0, lambda fp: 0, True, id="private-param-dropped"),
    pytest.param(lambda a=0: 0, lambda a=False: 0, False, id="default-of-other-type"),
])
def test_signature_comparator(stdlib_sig: Any, ref_sig: Any, compatible: bool) -> None:
    problems = signature_problems(_sig(stdlib_sig), _sig(ref_sig))
    assert (not problems) == compatible, problems


# ---------------------------------------------------------------------------------------------
# Module names


@pytest.mark.parametrize("name", ALL_NAMES + EXTRA_NAMES)
def test_module_name_exists(name: str) -> None:
    ref_attr(ref(), name, f"module name {name!r} (http.client has it)")


@pytest.mark.parametrize("name", ALL_NAMES)
def test_module_name_in_dunder_all(name: str) -> None:
    # `from reference import *` must give what `from http.client import *` gives.
    module = ref()
    exported = getattr(module, "__all__", None)
    if exported is None:
        pytest.fail("reference has no __all__", pytrace=False)
    assert name in exported, f"reference.__all__ lacks {name!r} (it is in http.client.__all__)"


@pytest.mark.parametrize("name", ("HTTP_PORT", "HTTPS_PORT"))
def test_port_constant(name: str) -> None:
    value = ref_attr(ref(), name, f"module constant {name!r}")
    assert value == getattr(STDLIB, name), f"reference.{name} is {value!r}, http.client.{name} is {getattr(STDLIB, name)!r}"


@pytest.mark.parametrize("name", STATUS_CONSTANTS)
def test_status_constant(name: str) -> None:
    expected = getattr(STDLIB, name)
    value = ref_attr(ref(), name, f"status constant {name!r} (http.client.{name} == {int(expected)})")
    assert isinstance(value, int) and value == expected, (
        f"reference.{name} is {value!r}, http.client.{name} is {int(expected)}")


def test_responses_table() -> None:
    table = ref_attr(ref(), "responses", "module name 'responses'")
    expected = STDLIB.responses
    if table != expected:
        missing = sorted(set(expected) - set(table))
        extra = sorted(set(table) - set(expected))
        different = {code: (table[code], expected[code]) for code in sorted(set(table) & set(expected))
                     if table[code] != expected[code]}
        pytest.fail(f"reference.responses differs from http.client.responses: missing codes {missing}, "
                    f"extra codes {extra}, different phrases (reference, stdlib) {different}", pytrace=False)


# ---------------------------------------------------------------------------------------------
# Signatures of the module's classes and functions


@pytest.mark.parametrize("name", CALLABLE_NAMES)
def test_callable_kind(name: str) -> None:
    expected = getattr(STDLIB, name)
    value = ref_attr(ref(), name, f"{name!r}")
    if inspect.isclass(expected):
        assert inspect.isclass(value), f"reference.{name} is {type(value).__name__}, not a class as in http.client"
    else:
        assert callable(value), f"reference.{name} is not callable (http.client.{name} is a function)"


@pytest.mark.parametrize("name", CALLABLE_NAMES)
def test_callable_signature(name: str) -> None:
    if name == "HTTPSConnection" and sys.version_info < (3, 12):
        pytest.skip("3.11's HTTPSConnection still takes key_file, cert_file and check_hostname, removed in "
                    "3.12 (gh-94172); the reference has the 3.12/3.13 signature")
    value = ref_attr(ref(), name, f"{name!r}")
    assert_compatible(name, getattr(STDLIB, name), value)


@pytest.mark.parametrize("name", CLASS_NAMES)
def test_class_hierarchy(name: str) -> None:
    """Whatever stdlib's class derives from, the reference's derives from the counterpart of.

    A base defined in http.client maps to the reference's class of that name (HTTPSConnection ->
    HTTPConnection, RemoteDisconnected -> BadStatusLine); any other base must be the very same class
    (RemoteDisconnected -> ConnectionResetError, HTTPResponse -> io.BufferedIOBase, ...).
    """
    module = ref()
    cls = ref_attr(module, name, f"class {name!r}")
    assert inspect.isclass(cls), f"reference.{name} is not a class"
    problems = []
    for base in getattr(STDLIB, name).__mro__[1:]:
        if base is object:
            continue
        if base.__module__ == STDLIB.__name__ and hasattr(STDLIB, base.__name__):
            counterpart = getattr(module, base.__name__, None)
            if counterpart is None:
                problems.append(f"reference has no {base.__name__} (a base of http.client.{name})")
            elif not (inspect.isclass(counterpart) and issubclass(cls, counterpart)):
                problems.append(f"not a subclass of reference.{base.__name__}")
        elif not issubclass(cls, base):
            problems.append(f"not a subclass of {base.__module__}.{base.__qualname__}")
    assert not problems, f"reference.{name}: " + "; ".join(problems)


def test_http_response_is_buffered_io() -> None:
    cls = ref_attr(ref(), "HTTPResponse", "class 'HTTPResponse'")
    assert inspect.isclass(cls) and issubclass(cls, io.BufferedIOBase), (
        "reference.HTTPResponse is not an io.BufferedIOBase subclass")


# ---------------------------------------------------------------------------------------------
# Members of HTTPConnection, HTTPSConnection, HTTPResponse


@pytest.mark.parametrize(("cls_name", "member"), MEMBERS, ids=[f"{c}.{m}" for c, m in MEMBERS])
def test_class_member(cls_name: str, member: str) -> None:
    label = f"{cls_name}.{member}"
    cls = ref_attr(ref(), cls_name, f"class {cls_name!r}")
    expected = inspect.getattr_static(getattr(STDLIB, cls_name), member)
    value = ref_attr(cls, member, f"{label} (http.client has it)")
    stdlib_value = getattr(getattr(STDLIB, cls_name), member)
    if isinstance(expected, property) or inspect.isdatadescriptor(expected):
        assert inspect.isdatadescriptor(inspect.getattr_static(cls, member)), (
            f"reference {label} is not a property/descriptor as in http.client")
        return
    if inspect.isclass(stdlib_value):  # response_class
        assert inspect.isclass(value), f"reference {label} is {value!r}, not a class"
        assert_compatible(label, stdlib_value, value)
        return
    if callable(stdlib_value):
        assert callable(value), f"reference {label} is {value!r}, not callable"
        assert_compatible(label, stdlib_value, value)
        return
    # plain class attributes (default_port, auto_open, debuglevel) are checked for value below


@pytest.mark.parametrize("cls_name", ("HTTPConnection", "HTTPSConnection"))
@pytest.mark.parametrize("attribute", CONNECTION_CLASS_ATTRIBUTES)
def test_connection_class_attribute(cls_name: str, attribute: str) -> None:
    cls = ref_attr(ref(), cls_name, f"class {cls_name!r}")
    value = ref_attr(cls, attribute, f"class attribute {cls_name}.{attribute}")
    expected = getattr(getattr(STDLIB, cls_name), attribute)
    assert value == expected, f"reference {cls_name}.{attribute} is {value!r}, http.client's is {expected!r}"


def test_https_default_port_is_https_port() -> None:
    module = ref()
    cls = ref_attr(module, "HTTPSConnection", "class 'HTTPSConnection'")
    assert ref_attr(cls, "default_port", "HTTPSConnection.default_port") == 443, "HTTPSConnection.default_port != 443"
    assert ref_attr(module, "HTTPConnection", "class 'HTTPConnection'").default_port == 80, (
        "HTTPConnection.default_port != 80")


@pytest.mark.parametrize("cls_name", ("HTTPConnection", "HTTPSConnection"))
def test_connection_response_class(cls_name: str) -> None:
    module = ref()
    cls = ref_attr(module, cls_name, f"class {cls_name!r}")
    response_class = ref_attr(cls, "response_class", f"{cls_name}.response_class")
    response = ref_attr(module, "HTTPResponse", "class 'HTTPResponse'")
    assert inspect.isclass(response_class) and issubclass(response_class, response), (
        f"reference {cls_name}.response_class is {response_class!r}, not reference.HTTPResponse (or a subclass)")


# ---------------------------------------------------------------------------------------------
# Exceptions


@pytest.mark.parametrize("name", EXCEPTION_NAMES)
def test_exception_is_stdlib_subclass(name: str) -> None:
    # `except http.client.X` must catch the reference's X.
    cls = ref_attr(ref(), name, f"exception {name!r}")
    assert inspect.isclass(cls) and issubclass(cls, getattr(STDLIB, name)), (
        f"reference.{name} is not a subclass of http.client.{name}")


def _sample_arguments(cls: type) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Arguments for the required parameters of stdlib's exception (a value per name)."""
    samples: dict[str, Any] = {"partial": b"abc", "expected": 7, "line": "HTTP/1.1 abc", "version": "HTTP/9.9",
                               "line_type": "header line"}
    sig = signature_or_none(cls)
    if sig is None:
        return ("a message",), {}
    args = []
    for p in sig.parameters.values():
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            args.append("a message")
        elif p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            args.append(samples.get(p.name, f"<{p.name}>"))
    return tuple(args), {}


@pytest.mark.parametrize("name", EXCEPTION_NAMES)
def test_exception_constructed_like_stdlib(name: str) -> None:
    """Built with the arguments stdlib's takes, the reference's exception carries the same state."""
    stdlib_cls = getattr(STDLIB, name)
    cls = ref_attr(ref(), name, f"exception {name!r}")
    args, kwargs = _sample_arguments(stdlib_cls)
    expected = stdlib_cls(*args, **kwargs)
    try:
        actual = cls(*args, **kwargs)
    except Exception as exc:
        pytest.fail(f"reference.{name}{args} raises {type(exc).__name__}: {exc} (http.client.{name}{args} works)",
                    pytrace=False)
    assert actual.args == expected.args, f"reference.{name}{args}.args is {actual.args!r}, stdlib's {expected.args!r}"
    assert vars(actual) == vars(expected), (
        f"reference.{name}{args} has attributes {vars(actual)!r}, stdlib's has {vars(expected)!r}")
    assert str(actual) == str(expected), f"str(reference.{name}{args}) is {str(actual)!r}, stdlib's {str(expected)!r}"


def test_incomplete_read_partial_expected() -> None:
    cls = ref_attr(ref(), "IncompleteRead", "exception 'IncompleteRead'")
    exc = cls(b"abc", 7)
    assert (getattr(exc, "partial", None), getattr(exc, "expected", None)) == (b"abc", 7), (
        "reference.IncompleteRead(b'abc', 7) lacks partial=b'abc' / expected=7")
    assert getattr(cls(b"abc"), "expected", "missing") is None, "reference.IncompleteRead(b'abc').expected is not None"
    assert repr(exc) == repr(STDLIB.IncompleteRead(b"abc", 7)), f"repr differs from stdlib's: {exc!r}"


def test_remote_disconnected_is_connection_reset_and_bad_status_line() -> None:
    module = ref()
    cls = ref_attr(module, "RemoteDisconnected", "exception 'RemoteDisconnected'")
    bad_status_line = ref_attr(module, "BadStatusLine", "exception 'BadStatusLine'")
    assert issubclass(cls, ConnectionResetError), "reference.RemoteDisconnected is not a ConnectionResetError"
    assert issubclass(cls, bad_status_line), "reference.RemoteDisconnected is not a reference.BadStatusLine"


def test_error_is_http_exception() -> None:
    module = ref()
    assert ref_attr(module, "error", "'error'") is ref_attr(module, "HTTPException", "'HTTPException'"), (
        "reference.error is not reference.HTTPException (http.client.error is http.client.HTTPException)")
