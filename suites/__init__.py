"""The scenarios of the HTTP/1.1 client conformance suite, and the pytest plugin that runs them."""
