"""Text that a client chose, made safe for where a report puts it.

Reasons, wire traces, expectation lines, scenario variants, implementation names and versions are
text that the client under test (or whoever wrote its adapter or results file) chose. A report
must show them as they are and never let them act: run script, fetch a URL, make a link, or break
the report's structure. Two destinations:

- Markdown, read by renderers we do not know (GitHub, Python-Markdown, markdown-it, editors):
  `code` writes a code span, the one construct that every Markdown renderer shows literally, with
  no HTML, entity, link, image, autolink or emphasis inside it. The few things that still act in a
  code span are dealt with first: a line break (or any control, format or separator character) is
  shown as an escape such as `\\n`, and the backtick fence is longer than any run of backticks in
  the text. `<` and `>` are shown as `\\x3c` and `\\x3e`: Python-Markdown reads HTML tags across
  the whole text before it looks for code spans, and with the right tags and entities in nearby
  spans it copies tags out raw. In a table cell, `|` and `\\` are shown as `\\x7c` and `\\x5c`:
  renderers split a row into cells before they read code spans, each with its own rules for
  `\\|`, `\\\\` and `\\``. Nothing of ours around a code span is raw HTML, so no renderer reads a
  span inside an HTML block, where it would not be a span.
- JSON inside an HTML `<script>` element: `script_json` writes `<`, `>`, `&`, U+2028 and U+2029
  as `\\uXXXX` escapes. They are only ever inside JSON strings, where the escape means the same
  character, so the data parses back unchanged, and no `</script>` or `<!--` is left to end or
  bend the element.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_IN_SPAN = {"<": "\\x3c", ">": "\\x3e"}
_IN_TABLE = {**_IN_SPAN, "|": "\\x7c", "\\": "\\x5c"}
_BACKTICKS = re.compile(r"`+")
_SCRIPT_UNSAFE = {ord(ch): f"\\u{ord(ch):04x}" for ch in "<>&\u2028\u2029"}


def _shown(ch: str) -> str:
    """A character as it is, or as an escape when it is invisible or could end a line."""
    if ch in _NAMED:
        return _NAMED[ch]
    category = unicodedata.category(ch)
    # C*: control, format (bidi overrides...), surrogate, private use, unassigned; Zl/Zp: U+2028/9.
    if category[0] != "C" and category not in ("Zl", "Zp"):
        return ch
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(text: str) -> str:
    """`text` on one line, its control, format and separator characters written as escapes."""
    return "".join(_shown(ch) for ch in text)


def code_text(text: str, *, table: bool = False) -> str:
    """What `code(text, table=table)` shows: `visible(text)`, and the escapes a code span needs."""
    special = _IN_TABLE if table else _IN_SPAN
    return "".join(special.get(ch) or _shown(ch) for ch in text)


def code(text: str, *, table: bool = False) -> str:
    """`text` as a Markdown code span that every renderer shows literally ("" for no text).

    `table`: the span sits in a table cell, where a `|` would end the cell.
    """
    shown = code_text(text, table=table)
    if not shown:
        return ""
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(shown)), default=0) + 1)
    # A span that starts or ends with a backtick or a space is padded: renderers strip one space
    # from each end, and a backtick there would join the fence.
    if shown[0] in "` " or shown[-1] in "` ":
        shown = f" {shown} "
    return f"{fence}{shown}{fence}"


def script_json(data: Any) -> str:
    """`data` as JSON that can sit inside an HTML <script> element and parse back unchanged."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.translate(_SCRIPT_UNSAFE)
