"""Measurements with units and limits (OpenHTF style) and the results files they are written to.

``Recorder`` collects a test's figures (the pytest plugin hands one out as the
``measurements`` fixture), ``Distribution`` keeps many samples with HDR percentiles,
``Limits`` judges a value pass / marginal / fail, and ``results.ResultsWriter`` writes the
JSON results file that ``testbed report`` renders.
"""

from .histogram import Distribution
from .limits import Limits, Outcome
from .measurement import Measurement, Recorder

__all__ = ["Distribution", "Limits", "Measurement", "Outcome", "Recorder"]
