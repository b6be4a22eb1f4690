"""An http.client-API implementation as h1conform sees one: a module with HTTPConnection & co.

Here it simply re-exports the stdlib's http.client; a real drop-in replacement defines its own
classes. Registered as `example-api`: it runs api and wire scenarios (the wire ones through the
adapter every such module gets for free).
"""

from http.client import *  # noqa: F403
from http.client import __all__  # noqa: F401
