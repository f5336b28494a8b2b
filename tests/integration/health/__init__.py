"""Integration tests of sentinel.health.checks: probes against real servers and processes."""
