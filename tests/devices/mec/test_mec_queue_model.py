"""The queueing formulas the model gained for near-constant service: Pollaczek–Khinchine and Allen–Cunneen."""

from __future__ import annotations

import pytest

from devices.mec import model
from testbed.offload import model as reexported


def test_pollaczek_khinchine_halves_mm1_for_constant_service() -> None:
    # S = 0.1 s, λ = 5/s (ρ = 0.5): M/M/1 W_q = 0.1, M/D/1 = ρS/(2(1 − ρ)) = 0.05.
    assert model.mg1_wait_s(5, 0.1, 0.0) == pytest.approx(0.05)
    assert model.mg1_wait_s(5, 0.1, 1.0) == pytest.approx(model.mm1_wait_s(5, 10))  # exponential: M/M/1
    with pytest.raises(ValueError, match="M/G/1"):
        model.mg1_wait_s(10, 0.1)
    with pytest.raises(ValueError, match="service CV²"):
        model.mg1_wait_s(1, 0.1, -1)


def test_allen_cunneen_scales_mmc_and_is_exact_for_one_server() -> None:
    assert model.allen_cunneen_wait_s(5, 0.1, 1, 0.0) == pytest.approx(model.mg1_wait_s(5, 0.1, 0.0))
    assert model.allen_cunneen_wait_s(15, 0.1, 2, 1.0) == pytest.approx(model.mmc_wait_s(15, 10, 2))
    assert model.allen_cunneen_wait_s(15, 0.1, 2, 0.0) == pytest.approx(model.mmc_wait_s(15, 10, 2) / 2)


def test_controller_reexports_the_device_model() -> None:
    assert reexported.predict_offload is model.predict_offload
    assert set(reexported.__all__) <= set(dir(model))
