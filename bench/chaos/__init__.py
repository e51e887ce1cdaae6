"""The long chaos run: ``make chaos`` (``python -m bench.chaos --help``)."""
