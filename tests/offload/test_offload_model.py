"""The analytic offload model against the reference's worked ECG example and known queueing values."""

from __future__ import annotations

import math

import pytest

from testbed.offload import model


def test_worked_ecg_example_terms_and_decision() -> None:
    # offload-model.md §4: 120 000 B at 75 Mbps, RTT 15 ms, 50 ms edge inference, 1 000 ms on a Pi.
    p = model.predict_offload(input_bits=120_000 * 8, output_bits=0, uplink_bps=75e6, downlink_bps=75e6,
                              rtt_s=0.015, work=50e6, edge_speed=1e9)
    assert p.uplink_s == pytest.approx(0.0128)
    assert p.propagation_s == pytest.approx(0.015)
    assert p.compute_s == pytest.approx(0.050)
    assert p.queue_s == 0.0
    assert p.total_s == pytest.approx(0.0778)
    local = model.local_s(work=1e9, device_speed=1e9)
    assert local == pytest.approx(1.0)
    assert model.should_offload(p, local)
    # Break-even: W_q < ~922 ms, so offload wins unless ρ exceeds ~0.95.
    rho = model.break_even_utilisation(p.total_s, 0.050, local)
    assert rho == pytest.approx(0.9486, abs=1e-3)
    busy = model.predict_offload(120_000 * 8, 0, 75e6, 75e6, 0.015, 50e6, 1e9, arrival=0.96 / 0.050)
    assert busy.queue_s == pytest.approx(0.96 * 0.050 / 0.04)
    assert not model.should_offload(busy, local)


def test_mm1_known_values() -> None:
    assert model.mm1_wait_s(arrival=5, service=10) == pytest.approx(0.1)  # ρ = 0.5: W_q = 0.5/5
    assert model.mm1_sojourn_s(arrival=5, service=10) == pytest.approx(0.2)
    assert model.mm1_wait_s(0, 10) == 0.0
    with pytest.raises(ValueError, match="utilisation < 1"):
        model.mm1_wait_s(10, 10)


def test_erlang_c_known_values() -> None:
    # c = 2: C = 2ρ²/(1 + ρ) with ρ = a/2.
    for a in (0.2, 1.0, 1.5, 1.9):
        rho = a / 2
        assert model.erlang_c(2, a) == pytest.approx(2 * rho * rho / (1 + rho))
    assert model.erlang_c(1, 0.7) == pytest.approx(0.7)  # M/M/1: P(wait) = ρ
    # Textbook table: c = 5, a = 4 Erlangs → C ≈ 0.5541
    assert model.erlang_c(5, 4.0) == pytest.approx(0.5541, abs=1e-4)
    # λ = μ = 1, c = 2: W_q = (1/3) / (2 − 1)
    assert model.mmc_wait_s(1.0, 1.0, 2) == pytest.approx(1 / 3)
    assert model.mmc_wait_s(0.7, 1.0, 1) == pytest.approx(model.mm1_wait_s(0.7, 1.0))
    with pytest.raises(ValueError, match="M/M/2"):
        model.mmc_wait_s(2.0, 1.0, 2)


def test_more_servers_wait_less_and_terms_validate() -> None:
    waits = [model.mmc_wait_s(1.8, 1.0, c) for c in (2, 3, 4)]
    assert waits == sorted(waits, reverse=True) and all(math.isfinite(w) for w in waits)
    p = model.predict_offload(1e6, 1e4, 1e7, 1e7, 0.01, 1e8, 1e9, arrival=15, servers=2)
    assert p.queue_s == pytest.approx(model.mmc_wait_s(15, 10, 2))
    assert p.downlink_s == pytest.approx(0.001)
    with pytest.raises(ValueError, match="rate: expected a positive number, got 0"):
        model.transfer_s(1, 0)
