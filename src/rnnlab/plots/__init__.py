"""Pictures: a lazily imported pyplot, PNG bytes, and results saved as JSON beside a PNG.

Below every package that draws (the task kinds, the experiments); knows nothing of models.
"""
