"""The reference analytic offload model (docs/reference/offload-model.md §2) as pure functions.

Why pure functions: measured per-task timings from the offload worker are checked term by term
against these predictions (§2.1), so each term must be computable on its own, with no state.
Why here, in devices/: the device's own offload policy (devices/mec/policy.py) decides with it,
and devices never import the controller; testbed.offload.model re-exports this module.
Units are SI throughout: bits, bit/s, seconds, cycles (or any unit of work) and cycles/s.

    T_loc = C / f_dev
    T_off = D_in/R_ul + RTT/2 + W_q + C/f_edge + D_out/R_dl + RTT/2
    M/M/1: W_q = ρ/(μ − λ), ρ = λ/μ        M/M/c: W_q = ErlangC(c, λ/μ) / (cμ − λ)
    M/G/1 (Pollaczek–Khinchine): W_q = ρ·S·(1 + C_s²) / (2(1 − ρ))      (M/D/1: C_s² = 0)
    M/G/c (Allen–Cunneen):       W_q ≈ W_q(M/M/c) · (C_a² + C_s²) / 2   (exact for M/G/1)
"""

from __future__ import annotations

from dataclasses import dataclass


def _positive(value: float, what: str) -> float:
    if not value > 0:
        raise ValueError(f"{what}: expected a positive number, got {value!r}")
    return value


def _non_negative(value: float, what: str) -> float:
    if not value >= 0:
        raise ValueError(f"{what}: expected a non-negative number, got {value!r}")
    return value


def transfer_s(bits: float, rate_bps: float) -> float:
    """Serialisation time of ``bits`` at ``rate_bps``."""
    return _non_negative(bits, "size") / _positive(rate_bps, "rate")


def compute_s(work: float, speed: float) -> float:
    """Compute time of ``work`` cycles at ``speed`` cycles/s (T = C / f)."""
    return _non_negative(work, "work") / _positive(speed, "speed")


def _stable(arrival: float, capacity: float, what: str) -> None:
    _non_negative(arrival, "arrival rate")
    if arrival >= capacity:
        raise ValueError(f"{what}: expected arrival rate below the service capacity {capacity!r}/s "
                         f"(utilisation < 1), got {arrival!r}/s")


def mm1_wait_s(arrival: float, service: float) -> float:
    """M/M/1 mean waiting time in the queue, W_q = ρ/(μ − λ)."""
    _positive(service, "service rate")
    _stable(arrival, service, "M/M/1")
    return (arrival / service) / (service - arrival)


def mm1_sojourn_s(arrival: float, service: float) -> float:
    """M/M/1 mean time in the system, W = 1/(μ − λ)."""
    _positive(service, "service rate")
    _stable(arrival, service, "M/M/1")
    return 1.0 / (service - arrival)


def erlang_c(servers: int, offered: float) -> float:
    """Probability an arrival waits in M/M/c with ``offered`` = λ/μ Erlangs (needs offered < c)."""
    if servers < 1:
        raise ValueError(f"servers: expected at least 1, got {servers!r}")
    _stable(offered, servers, "Erlang C")
    # Erlang B by its stable recurrence, then C = B / (1 − ρ(1 − B)).
    b = 1.0
    for k in range(1, servers + 1):
        b = offered * b / (k + offered * b)
    rho = offered / servers
    return b / (1 - rho * (1 - b))


def mmc_wait_s(arrival: float, service: float, servers: int) -> float:
    """M/M/c mean waiting time in the queue, W_q = C(c, λ/μ) / (cμ − λ); μ is per server."""
    _positive(service, "service rate")
    _stable(arrival, servers * service, f"M/M/{servers}")
    return erlang_c(servers, arrival / service) / (servers * service - arrival)


@dataclass(frozen=True)
class OffloadPrediction:
    """Each term of T_off (s) as the reference splits it, and their sum."""

    uplink_s: float
    propagation_s: float  # RTT/2 each way, both ways together
    queue_s: float
    compute_s: float
    downlink_s: float

    @property
    def total_s(self) -> float:
        return self.uplink_s + self.propagation_s + self.queue_s + self.compute_s + self.downlink_s


def predict_offload(input_bits: float, output_bits: float, uplink_bps: float, downlink_bps: float, rtt_s: float,
                    work: float, edge_speed: float, arrival: float = 0.0, servers: int = 1) -> OffloadPrediction:
    """T_off term by term; the edge queue is M/M/c (M/M/1 for one server) at service rate f_edge/C."""
    compute = compute_s(work, edge_speed)
    queue = 0.0
    if arrival > 0:
        service = 1.0 / _positive(compute, "edge compute time")
        queue = mm1_wait_s(arrival, service) if servers == 1 else mmc_wait_s(arrival, service, servers)
    return OffloadPrediction(transfer_s(input_bits, uplink_bps), _non_negative(rtt_s, "RTT"), queue, compute,
                             transfer_s(output_bits, downlink_bps))


def local_s(work: float, device_speed: float) -> float:
    """T_loc = C / f_dev for the same task run on the device."""
    return compute_s(work, device_speed)


def should_offload(prediction: OffloadPrediction, local_time_s: float) -> bool:
    """Latency rule of the reference: offload iff the predicted T_off < T_loc."""
    return prediction.total_s < _non_negative(local_time_s, "local time")


def break_even_utilisation(fixed_s: float, service_s: float, local_time_s: float) -> float:
    """M/M/1 utilisation above which offload loses: fixed + ρS/(1 − ρ) = T_loc solved for ρ."""
    margin = local_time_s - fixed_s
    if margin <= 0:
        return 0.0
    ratio = margin / _positive(service_s, "service time")  # ρ/(1 − ρ)
    return ratio / (1 + ratio)


def mg1_wait_s(arrival: float, service_s: float, service_cv2: float = 0.0) -> float:
    """Pollaczek–Khinchine M/G/1 mean wait; ``service_cv2`` = Var[S]/E[S]² (0: deterministic, M/D/1)."""
    _positive(service_s, "service time")
    _non_negative(service_cv2, "service CV²")
    _stable(arrival, 1.0 / service_s, "M/G/1")
    rho = arrival * service_s
    return rho * service_s * (1 + service_cv2) / (2 * (1 - rho))


def allen_cunneen_wait_s(arrival: float, service_s: float, servers: int, service_cv2: float = 0.0,
                         arrival_cv2: float = 1.0) -> float:
    """M/G/c (G/G/c) mean wait by Allen–Cunneen: the M/M/c wait scaled by (C_a² + C_s²)/2.

    Why it matters here: the worker's tasks take near-constant time, so the measured wait sits
    near half the M/M/c figure (M/D/c), not on it.
    """
    _non_negative(service_cv2, "service CV²")
    _non_negative(arrival_cv2, "arrival CV²")
    service = 1.0 / _positive(service_s, "service time")
    base = mm1_wait_s(arrival, service) if servers == 1 else mmc_wait_s(arrival, service, servers)
    return base * (arrival_cv2 + service_cv2) / 2
