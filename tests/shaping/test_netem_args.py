"""netem arguments, defaults that avoid netem's pitfalls, and reading tc's JSON back (no kernel)."""

from __future__ import annotations

import pytest

from testbed.shaping.changes import BadShapingChange, merge_changes, parse_assignments
from testbed.shaping.netem import ORDER_KEEPING_RATE, default_limit, effective, netem_args
from testbed.shaping.shaper import mismatches
from testbed.shaping.tc import impairment_from_tc
from testbed.topology.model import GilbertElliott, Impairment, Slot
from testbed.topology.units import Duration, Percent, Rate

# What `tc -j qdisc show` printed for two netem qdiscs on Debian's 6.1 kernel (iproute2 6.1).
TC_FULL = {"kind": "netem", "handle": "1:", "root": True, "refcnt": 3, "options": {
    "limit": 5000, "delay": {"delay": 0.01, "jitter": 0.002, "correlation": 0.25},
    "loss-random": {"loss": 0.001, "correlation": 0.25}, "duplicate": {"duplicate": 0.01, "correlation": 0},
    "corrupt": {"corrupt": 0.001, "correlation": 0},
    "rate": {"rate": 12500000, "packetoverhead": 14, "cellsize": 0, "celloverhead": 0}, "ecn": False, "gap": 0}}
TC_GEMODEL = {"kind": "netem", "handle": "1:", "root": True, "refcnt": 3, "options": {
    "limit": 1000, "delay": {"delay": 0.01, "jitter": 0, "correlation": 0},
    "loss-gemodel": {"p": 0.01, "r": 0.1, "1-h": 0.5, "1-k": 0.01}, "reorder": {"reorder": 0.05, "correlation": 0.1},
    "rate": {"rate": 5000000000, "packetoverhead": 0, "cellsize": 0, "celloverhead": 0},
    "slot": {"min-delay": 0.001, "max-delay": 0.002, "packets": 10, "bytes": 1500}, "ecn": True, "gap": 3}}


def imp(**fields: object) -> Impairment:
    return Impairment(**fields)  # type: ignore[arg-type]


def test_every_parameter_becomes_tc_arguments_in_tc_order() -> None:
    full = imp(limit=5000, delay=Duration(10000), jitter=Duration(2000), delay_correlation=Percent(25),
               distribution="pareto", loss=Percent(0.1), loss_correlation=Percent(25), duplicate=Percent(1),
               corrupt=Percent(0.1), reorder=Percent(5), reorder_correlation=Percent(10), reorder_gap=3,
               rate=Rate(100e6), packet_overhead=-14, slot=Slot(Duration(1000), Duration(2000), 10, 1500))
    assert netem_args(full) == [
        "limit", "5000", "delay", "10000us", "2000us", "25%", "distribution", "pareto",
        "loss", "random", "0.1%", "25%", "duplicate", "1%", "corrupt", "0.1%", "reorder", "5%", "10%",
        "gap", "3", "rate", "100000000bit", "-14", "slot", "1000us", "2000us", "packets", "10", "bytes", "1500"]


def test_gilbert_elliott_loss_and_ecn() -> None:
    ge = imp(gemodel=GilbertElliott(Percent(1), Percent(10), Percent(50), Percent(1)), ecn=True)
    assert netem_args(ge) == ["loss", "gemodel", "1%", "10%", "50%", "1%", "ecn"]
    short = imp(gemodel=GilbertElliott(Percent(1), None, Percent(50)))
    assert netem_args(short) == ["loss", "gemodel", "1%"]  # later values need the earlier ones


def test_jitter_without_rate_or_reorder_gets_an_order_keeping_rate_and_a_normal_distribution() -> None:
    applied = effective(imp(delay=Duration(10000), jitter=Duration(3000)))
    assert applied.rate == ORDER_KEEPING_RATE
    assert applied.distribution == "normal"
    reordering = effective(imp(delay=Duration(10000), jitter=Duration(3000), reorder=Percent(1)))
    assert reordering.rate is None  # reordering was asked for: netem may reorder
    rated = effective(imp(delay=Duration(10000), jitter=Duration(3000), rate=Rate(1e6), distribution="pareto"))
    assert (rated.rate, rated.distribution) == (Rate(1e6), "pareto")


def test_limit_is_sized_from_rate_and_delay_never_left_at_1000() -> None:
    assert effective(imp(delay=Duration(5000))).limit == 10000
    # 1 Gbit/s over 100 ms: 8,333 packets of 1500 bytes in flight, twice that queued at most
    assert default_limit(imp(delay=Duration(100_000), rate=Rate(1e9))) == 16667
    assert default_limit(imp(delay=Duration(1000), rate=Rate(1e6))) == 1000
    assert effective(imp(delay=Duration(1000), limit=42)).limit == 42


def test_tc_json_reads_back_into_the_model() -> None:
    got = impairment_from_tc(TC_FULL)
    assert got == imp(limit=5000, delay=Duration(10000), jitter=Duration(2000), delay_correlation=Percent(25),
                      loss=Percent(0.1), loss_correlation=Percent(25), duplicate=Percent(1), corrupt=Percent(0.1),
                      rate=Rate(100e6), packet_overhead=14)
    ge = impairment_from_tc(TC_GEMODEL)
    assert ge is not None and ge.gemodel == GilbertElliott(Percent(1), Percent(10), Percent(50), Percent(1))
    assert (ge.reorder, ge.reorder_correlation, ge.reorder_gap, ge.ecn) == (Percent(5), Percent(10), 3, True)
    assert ge.slot == Slot(Duration(1000), Duration(2000), 10, 1500)
    assert ge.rate == Rate(40e9)
    assert impairment_from_tc({"kind": "noqueue", "root": True}) is None
    assert impairment_from_tc(None) is None


def test_mismatches_name_each_differing_field_but_not_the_unreported_distribution() -> None:
    wanted = imp(limit=5000, delay=Duration(10000), jitter=Duration(2000), distribution="normal", loss=Percent(0.1))
    kernel = imp(limit=5000, delay=Duration(10000), jitter=Duration(2000), loss=Percent(0.1), corrupt=Percent(0.1))
    assert mismatches(wanted, kernel) == ["corrupt: set nothing, kernel has 0.1%"]
    assert mismatches(wanted, wanted) == []
    assert mismatches(None, kernel) == ["expected no qdisc, found netem"]


def test_assignments_parse_values_as_yaml_and_dotted_keys_into_blocks() -> None:
    assert parse_assignments(["delay=20ms", "limit=5000", "ecn=true", "loss=", "gemodel.p=1%"]) == {
        "delay": "20ms", "limit": 5000, "ecn": True, "loss": None, "gemodel": {"p": "1%"}}
    with pytest.raises(BadShapingChange, match="expected field=value"):
        parse_assignments(["delay"])


def test_changes_merge_over_the_current_shaping_and_follow_netem_rules() -> None:
    current = {"delay": "10ms", "jitter": "2ms", "distribution": "normal", "loss": "0.1%"}
    merged = merge_changes(current, {"delay": "20ms", "loss": None}, "link x (up)")
    assert merged == imp(delay=Duration(20000), jitter=Duration(2000), distribution="normal")
    with pytest.raises(BadShapingChange, match="jitter needs delay"):
        merge_changes(current, {"delay": None}, "link x (up)")
    with pytest.raises(BadShapingChange, match="unknown field 'dealy'.*did you mean 'delay'"):
        merge_changes(current, {"dealy": "5ms"}, "link x (up)")
    with pytest.raises(BadShapingChange, match="no unit"):
        merge_changes(current, {"delay": 5}, "link x (up)")


def test_changes_take_netlink_when_pyroute2_can_encode_them_and_tc_otherwise() -> None:
    from testbed.shaping.shaper import plan_change

    jittered = effective(imp(delay=Duration(10000), jitter=Duration(2000)))  # normal table, order-keeping rate
    plain = effective(imp(delay=Duration(5000), loss=Percent(1)))
    assert plan_change(None, plain, None) == "netlink-add"
    assert plan_change(None, jittered, None) == "tc-add"  # the normal table needs tc
    assert plan_change(plain, effective(imp(delay=Duration(9000), loss=Percent(1))), plain) == "netlink-change"
    # the kernel keeps the loaded table when a change leaves it out: a rate step on a jittered link
    faster = effective(imp(delay=Duration(10000), jitter=Duration(2000), rate=Rate(5e6)))
    assert plan_change(jittered, faster, imp(delay=Duration(10000), jitter=Duration(2000))) == "netlink-change"
    pareto = effective(imp(delay=Duration(10000), jitter=Duration(2000), distribution="pareto"))
    assert plan_change(jittered, pareto, imp(delay=Duration(10000), jitter=Duration(2000))) == "tc-change"
    assert plan_change(plain, effective(imp(delay=Duration(5000), ecn=True, loss=Percent(1))), plain) == "tc-change"
    assert plan_change(effective(imp(delay=Duration(5000), corrupt=Percent(1))), plain, plain) == "tc-rebuild"
    assert plan_change(plain, None, plain) == "tc-del"
    assert plan_change(None, None, None) == "none"


def test_netlink_options_carry_the_same_numbers_as_the_tc_arguments() -> None:
    from testbed.shaping.netlink import netem_options

    opts = netem_options(effective(imp(delay=Duration(10000), jitter=Duration(2000), delay_correlation=Percent(25),
                                       loss=Percent(0.5), rate=Rate(100e6), packet_overhead=-14, limit=5000)))
    attrs = dict(opts["attrs"])
    u32 = 2**32 - 1  # netem's probability scale (pyroute2 truncates where tc rounds: one part in 4e9)
    assert opts["limit"] == 5000 and opts["loss"] == int(u32 * 0.005)
    assert attrs["TCA_NETEM_RATE"]["rate"] == 12_500_000 and attrs["TCA_NETEM_RATE"]["packet_overhead"] == -14
    assert attrs["TCA_NETEM_CORR"]["delay_corr"] == int(u32 * 0.25)
    assert opts["delay"] * 64 == 10_000_000  # psched ticks of 64 ns
