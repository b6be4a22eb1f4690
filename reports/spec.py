"""What a scenario's references say: the requirement sentence, or the http.client documentation entry."""

from __future__ import annotations

from typing import Any

from h1conform.suites.harness.references import is_documented, requirements

RFC_URL = "https://www.rfc-editor.org/rfc/rfc{number}#section-{section}"
DOCS_URL = "https://docs.python.org/3/library/http.client.html#{anchor}"


def describe(ref: str) -> dict[str, Any]:
    """{ref, kind (rfc, api or unknown), level, topic, text, url} for one reference."""
    requirement = requirements().get(ref)
    if requirement is not None:
        number = requirement.rfc.removeprefix("RFC")
        section = ref.split("-")[1] if ref.count("-") >= 1 else ""
        return {"ref": ref, "kind": "rfc", "level": requirement.level, "topic": requirement.topic,
                "text": requirement.text, "url": RFC_URL.format(number=number, section=section)}
    if is_documented(ref):
        name = ref.removeprefix("http.client.")
        anchor = ref if name not in ("connect", "send") else "http.client.HTTPConnection"
        return {"ref": ref, "kind": "api", "level": "API", "topic": "http.client documentation",
                "text": f"The documented behaviour of {ref} (Python http.client reference).",
                "url": DOCS_URL.format(anchor=anchor)}
    return {"ref": ref, "kind": "unknown", "level": "", "topic": "", "text": "(not a known reference)", "url": ""}


def describe_all(refs: set[str]) -> dict[str, dict[str, Any]]:
    return {ref: describe(ref) for ref in sorted(refs)}
