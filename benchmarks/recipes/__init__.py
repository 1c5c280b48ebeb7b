"""The pipelines that build the shipped models (``python -m benchmarks.recipes.NAME``)."""
