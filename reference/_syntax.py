"""The ABNF rules of RFC 9110 / RFC 9112 that both directions check, as compiled patterns.

Each pattern quotes the grammar it implements, so a reader can hold one against the other.
"""

from __future__ import annotations

import re

# RFC 9110 5.6.2:  token = 1*tchar
#   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
#           / DIGIT / ALPHA
TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

# RFC 9110 5.5:  field-value = *field-content
#   field-content = field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ]
#   field-vchar = VCHAR / obs-text ;  obs-text = %x80-FF
FIELD_VALUE = re.compile(rb"(?:[\x21-\x7e\x80-\xff](?:[\t \x21-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?")

# What may never appear in a request line element (method, target) or Host: CTLs, SP and DEL.
# RFC 9112 3: request-line = method SP request-target SP HTTP-version
FORBIDDEN_IN_REQUEST_LINE = re.compile(rb"[\x00-\x20\x7f]")

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
