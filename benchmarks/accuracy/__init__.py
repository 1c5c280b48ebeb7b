"""Accuracy benchmarks: one runner over tasks x methods x splits.

Run ``python -m benchmarks.accuracy --help``; every row is appended (with git
sha, machine, seed, command and load average) to the ``--results`` file.
"""
