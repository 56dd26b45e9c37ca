"""Test harness shared by the core and adapter suites."""
