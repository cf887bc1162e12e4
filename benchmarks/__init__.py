"""Benchmarks of rnnlab against plain PyTorch; run them all with ``python -m benchmarks``."""
