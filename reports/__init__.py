"""Compatibility reports built from suite runs (built under its own issue; empty until then)."""
