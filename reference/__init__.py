"""The reference HTTP/1.1 client (built under its own issue; empty until then)."""
