"""Performance and quality measurements, run on demand (never part of the test run)."""
