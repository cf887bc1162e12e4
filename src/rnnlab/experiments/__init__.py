"""Experiments: ``compare`` and the claim experiments (``gradients``, ``memory``, the causal
ceiling of ``context``) and the ``report`` that gathers them. Each returns a result object
that can save itself and draw itself."""

from rnnlab.experiments.compare import (
    CompareConfig,
    CompareResult,
    ModelResult,
    prepare_data,
    run_compare,
)
from rnnlab.experiments.context import causal_ceiling
from rnnlab.experiments.gradients import GradientsConfig, GradientsResult, run_gradients
from rnnlab.experiments.memory import MemoryConfig, MemoryResult, run_memory
from rnnlab.experiments.report import Report, build_report

__all__ = [
    "CompareConfig",
    "CompareResult",
    "GradientsConfig",
    "GradientsResult",
    "MemoryConfig",
    "MemoryResult",
    "ModelResult",
    "Report",
    "build_report",
    "causal_ceiling",
    "prepare_data",
    "run_compare",
    "run_gradients",
    "run_memory",
]
