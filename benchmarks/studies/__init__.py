"""One-off studies behind the dated notes in ``docs/notes/`` (run as ``python -m benchmarks.studies.NAME``)."""
