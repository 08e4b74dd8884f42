"""Telemetry coverage (issue 12): which rules a set of collected logs can run, and where it is blind."""
