"""The ABNF rules of RFC 9110 / RFC 9112 that both directions check, as compiled patterns.

Each pattern quotes the grammar it implements, so a reader can hold one against the other.
"""

from __future__ import annotations

import re

# RFC 9110 5.6.2:  token = 1*tchar
#   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
#           / DIGIT / ALPHA
TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

# What the reference accepts as a received field name: RFC 9110 5.1 says `field-name = token`, but
# like http.client it keeps names of other visible characters (`X@A`, and the empty name of a line
# that starts with a colon): they cannot change how the message is framed. Whitespace (RFC 9112
# 5.1: "No whitespace is allowed between the field name and colon"), CTLs and obs-text are refused.
FIELD_NAME = re.compile(rb"[\x21-\x7e]*")

# RFC 9110 5.5:  field-value = *field-content
#   field-content = field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ]
#   field-vchar = VCHAR / obs-text ;  obs-text = %x80-FF
FIELD_VALUE = re.compile(rb"(?:[\x21-\x7e\x80-\xff](?:[\t \x21-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?")

# What may never appear in a request line element (method, target) or Host: CTLs, SP and DEL.
# RFC 9112 3: request-line = method SP request-target SP HTTP-version. Matched on the caller's str.
FORBIDDEN_IN_REQUEST_LINE = re.compile(r"[\x00-\x20\x7f]")

# The part of what a method may not hold that http.client also refuses (the C0 controls).
CONTROL_IN_METHOD = re.compile(r"[\x00-\x1f]")

# RFC 9112 2.3:  HTTP-version = HTTP-name "/" DIGIT "." DIGIT ;  HTTP-name = %s"HTTP"
HTTP_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")

# RFC 9110 15:  status-code = 3DIGIT (100..599 are the defined classes)
STATUS_CODE = re.compile(rb"[1-5][0-9][0-9]")

# RFC 9112 7.1:  chunk-size = 1*HEXDIG
CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]+")

# RFC 9110 8.6:  Content-Length = 1*DIGIT
DIGITS = re.compile(rb"[0-9]+")

# RFC 9110 5.6.3:  OWS = *( SP / HTAB )
OWS = b" \t"
