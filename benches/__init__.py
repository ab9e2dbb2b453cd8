"""Side-by-side benchmarks: oxpickle against pickle, cloudpickle, dill and msgspec.

Run with ``make bench`` (or ``python -m benches.run --help``); README.md in this
folder explains the methodology.
"""
