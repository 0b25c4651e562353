"""Benchmarks: stock jupyter-collaboration vs rtc-presence in one interleaved run."""
