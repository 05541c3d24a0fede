"""The reference analytic offload model, re-exported from :mod:`devices.mec.model`.

Why it lives in devices/: the device's offload policy decides with the same formulas, and
devices never import the controller. Controller code keeps importing it from here.
"""

from devices.mec.model import (
    OffloadPrediction,
    allen_cunneen_wait_s,
    break_even_utilisation,
    compute_s,
    erlang_c,
    local_s,
    mg1_wait_s,
    mm1_sojourn_s,
    mm1_wait_s,
    mmc_wait_s,
    predict_offload,
    should_offload,
    transfer_s,
)

__all__ = [
    "OffloadPrediction",
    "allen_cunneen_wait_s",
    "break_even_utilisation",
    "compute_s",
    "erlang_c",
    "local_s",
    "mg1_wait_s",
    "mm1_sojourn_s",
    "mm1_wait_s",
    "mmc_wait_s",
    "predict_offload",
    "should_offload",
    "transfer_s",
]
