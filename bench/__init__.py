"""b24vote benchmarks: ``make bench`` (``python -m bench``)."""
