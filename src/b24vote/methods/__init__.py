"""REST methods, one module per family; ``registry`` holds them all."""
