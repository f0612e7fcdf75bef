"""The domain: pure values and rules, no I/O, no imports from the rest of the package."""
