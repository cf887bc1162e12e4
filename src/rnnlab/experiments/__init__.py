"""Experiments: ``compare`` (and, later, the claim experiments). Each returns a result object
that can save itself and draw itself."""

from rnnlab.experiments.compare import (
    CompareConfig,
    CompareResult,
    ModelResult,
    prepare_data,
    run_compare,
)

__all__ = ["CompareConfig", "CompareResult", "ModelResult", "prepare_data", "run_compare"]
