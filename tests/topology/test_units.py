"""Scalar unit types of topology files: what each accepts, what it refuses and what it says."""

from __future__ import annotations

import ipaddress
import re

import pytest

from testbed.topology.units import Duration, IPv4Interface, IPv4Network, Percent, Rate, UnitError

# --- Duration ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "us"),
    [
        ("10ms", 10_000.0),
        ("500us", 500.0),
        ("1s", 1_000_000.0),
        ("1.5s", 1_500_000.0),
        (".5ms", 500.0),
        ("0.25ms", 250.0),
        ("10 ms", 10_000.0),
        ("  20ms  ", 20_000.0),
        ("0ms", 0.0),
    ],
)
def test_duration_accepts_number_with_unit_and_keeps_microseconds(text, us):
    assert Duration.parse(text) == Duration(us)


@pytest.mark.parametrize("number", [10, 2.5, 0])
def test_duration_bare_number_is_refused_with_advice_to_add_a_unit(number):
    with pytest.raises(UnitError) as info:
        Duration.parse(number)
    message = str(info.value)
    assert "has no unit" in message
    assert f"{number}ms" in message and f"{number}us" in message and f"{number}s" in message


@pytest.mark.parametrize("text", ["10", "10 m", "10min", "10MS", "ms", "-5ms", "10ms5", "1e3ms", "ten ms", ""])
def test_duration_bad_spelling_is_refused_with_examples(text):
    with pytest.raises(UnitError, match=r"expected a duration such as 10ms, 500us or 1s, got ") as info:
        Duration.parse(text)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize(
    ("value", "shown"),
    [(True, "the boolean true"), (None, "nothing (null)"), ([10], "a list"), ({"ms": 10}, "a mapping")],
)
def test_duration_non_scalar_is_refused_naming_what_was_given(value, shown):
    with pytest.raises(UnitError) as info:
        Duration.parse(value)
    assert str(info.value) == f"expected a duration such as 10ms, got {shown}"


def test_duration_error_is_a_value_error():
    with pytest.raises(ValueError):
        Duration.parse("soon")


@pytest.mark.parametrize(
    ("us", "text"),
    [
        (500.0, "500us"),
        (10_000.0, "10ms"),
        (1_500.0, "1.5ms"),
        (2_000_000.0, "2s"),
        (1_500_000.0, "1500ms"),
        (0.0, "0us"),
    ],
)
def test_duration_prints_in_the_largest_exact_unit(us, text):
    assert str(Duration(us)) == text
    assert Duration.parse(text) == Duration(us)


def test_durations_are_ordered_by_length():
    assert Duration.parse("999us") < Duration.parse("1ms") < Duration.parse("1.001ms")


# --- Percent -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("0.1%", 0.1),
        ("0.1", 0.1),
        ("5 %", 5.0),
        (".5%", 0.5),
        (0.1, 0.1),
        (3, 3.0),
        (0, 0.0),
        (100, 100.0),
        ("100%", 100.0),
        ("0%", 0.0),
    ],
)
def test_percent_accepts_numbers_and_percent_strings_from_0_to_100(value, number):
    assert Percent.parse(value) == Percent(number)


@pytest.mark.parametrize("value", [100.01, 101, -1, -0.5, "101%", "100.5", float("inf"), float("nan")])
def test_percent_outside_0_to_100_is_refused(value):
    with pytest.raises(UnitError, match="a percentage must be between 0 and 100"):
        Percent.parse(value)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("-1%", "'-1%'"),
        ("ten", "'ten'"),
        ("1%%", "'1%%'"),
        ("%5", "'%5'"),
        ("0.1 percent", "'0.1 percent'"),
        (True, "the boolean true"),
        (False, "the boolean false"),
        (None, "nothing (null)"),
        ([1], "a list"),
    ],
)
def test_percent_bad_spelling_is_refused_naming_what_was_given(value, shown):
    with pytest.raises(UnitError) as info:
        Percent.parse(value)
    assert str(info.value) == f"expected a percentage such as 0.1%, got {shown}"


def test_percent_prints_with_percent_sign():
    assert str(Percent(0.1)) == "0.1%"
    assert str(Percent(25.0)) == "25%"


# --- Rate --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bps"),
    [
        ("100mbit", 100e6),
        ("500kbit", 500e3),
        ("1gbit", 1e9),
        ("64bit", 64.0),
        ("1.5mbit", 1.5e6),
        ("100Mbit", 100e6),
        ("100MBIT", 100e6),
        ("100 mbit", 100e6),
        (" 2gbit ", 2e9),
    ],
)
def test_rate_accepts_bit_units_with_si_prefixes(text, bps):
    assert Rate.parse(text) == Rate(bps)


@pytest.mark.parametrize("text", ["100mbps", "100Mbps", "100MBps", "100kbps", "1gbps", "100bps", "100 mbps"])
def test_rate_in_bps_is_refused_as_ambiguous(text):
    with pytest.raises(UnitError) as info:
        Rate.parse(text)
    message = str(info.value)
    assert "ambiguous" in message
    assert "bytes per second" in message
    assert "100mbit" in message


@pytest.mark.parametrize("number", [100, 1.5])
def test_rate_bare_number_is_refused_with_advice_to_add_a_unit(number):
    with pytest.raises(UnitError) as info:
        Rate.parse(number)
    message = str(info.value)
    assert "has no unit" in message
    assert f"{number}mbit" in message and f"{number}kbit" in message


@pytest.mark.parametrize("text", ["100", "100mb", "100m", "fast", "100 megabit", "-1mbit", "100mibit"])
def test_rate_bad_spelling_is_refused_with_example(text):
    with pytest.raises(UnitError) as info:
        Rate.parse(text)
    assert str(info.value) == f"expected a rate such as 100mbit, got {text!r}"


@pytest.mark.parametrize("text", ["0mbit", "0bit", "0.0kbit"])
def test_rate_of_zero_is_refused(text):
    with pytest.raises(UnitError, match="a rate must be above zero"):
        Rate.parse(text)


@pytest.mark.parametrize(("value", "shown"), [(True, "the boolean true"), (None, "nothing (null)"), ({}, "a mapping")])
def test_rate_non_scalar_is_refused_naming_what_was_given(value, shown):
    with pytest.raises(UnitError) as info:
        Rate.parse(value)
    assert str(info.value) == f"expected a rate such as 100mbit, got {shown}"


@pytest.mark.parametrize(("bps", "text"), [(100e6, "100mbit"), (1.5e9, "1.5gbit"), (500e3, "500kbit"), (64.0, "64bit")])
def test_rate_prints_in_the_largest_unit_and_parses_back(bps, text):
    assert str(Rate(bps)) == text
    assert Rate.parse(text) == Rate(bps)


# --- IPv4Interface -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["10.0.0.1/30", "192.168.1.7/24", " 10.0.0.0/31 ", "10.0.0.1/32"])
def test_ipv4_interface_accepts_address_with_prefix_length(text):
    value = IPv4Interface.parse(text)
    assert isinstance(value, IPv4Interface)
    assert isinstance(value, ipaddress.IPv4Interface)
    assert value == ipaddress.IPv4Interface(text.strip())


def test_ipv4_interface_keeps_host_bits_and_network():
    value = IPv4Interface.parse("10.0.0.2/30")
    assert str(value.ip) == "10.0.0.2"
    assert str(value.network) == "10.0.0.0/30"


@pytest.mark.parametrize(("value", "shown"), [("10.0.0.1", "'10.0.0.1'"), (10, "10"), (None, "nothing (null)")])
def test_ipv4_interface_without_prefix_length_is_refused(value, shown):
    with pytest.raises(UnitError) as info:
        IPv4Interface.parse(value)
    assert str(info.value) == f"expected an IPv4 address with prefix length such as 10.0.0.1/30, got {shown}"


@pytest.mark.parametrize("text", ["10.0.0.300/30", "10.0.0.1/33", "fe80::1/64", "host/24", "10.0.0/24"])
def test_ipv4_interface_malformed_is_refused(text):
    with pytest.raises(UnitError, match=re.escape(f"{text!r} is not an IPv4 address with prefix length")):
        IPv4Interface.parse(text)


# --- IPv4Network -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["10.0.0.0/16", "10.100.0.0/16", "192.168.0.0/29", "0.0.0.0/0", "10.0.0.4/30"])
def test_ipv4_network_accepts_prefix_with_zero_host_bits(text):
    value = IPv4Network.parse(text)
    assert isinstance(value, IPv4Network)
    assert value == ipaddress.IPv4Network(text)


def test_ipv4_network_with_host_bits_set_is_refused():
    with pytest.raises(UnitError) as info:
        IPv4Network.parse("10.0.0.1/16")
    message = str(info.value)
    assert "'10.0.0.1/16' is not an IPv4 network prefix" in message
    assert "host bits set" in message


@pytest.mark.parametrize(("value", "shown"), [("10.0.0.0", "'10.0.0.0'"), (16, "16"), ([], "a list")])
def test_ipv4_network_without_prefix_length_is_refused(value, shown):
    with pytest.raises(UnitError) as info:
        IPv4Network.parse(value)
    assert str(info.value) == f"expected an IPv4 network such as 10.20.0.0/16, got {shown}"


@pytest.mark.parametrize("text", ["10.0.0.0/40", "300.0.0.0/8", "net/8"])
def test_ipv4_network_malformed_is_refused(text):
    with pytest.raises(UnitError, match=re.escape(f"{text!r} is not an IPv4 network prefix")):
        IPv4Network.parse(text)


# --- schema fragments agree with the parsers on the common cases ------------------------------


@pytest.mark.parametrize(
    ("cls", "good", "bad"),
    [
        (Duration, ["10ms", "1.5s", ".5us", "10 ms"], ["10", "10MS", "-1ms"]),
        (Rate, ["100mbit", "1Gbit", "64bit"], ["100mbps", "100", "100mb"]),
        (IPv4Interface, ["10.0.0.1/30"], ["10.0.0.1", "fe80::1/64"]),
        (IPv4Network, ["10.0.0.0/16"], ["10.0.0.0", "net/8"]),
    ],
)
def test_unit_schema_pattern_accepts_what_parser_accepts_and_refuses_bad_spellings(cls, good, bad):
    pattern = re.compile(cls.SCHEMA["pattern"])
    assert cls.SCHEMA["type"] == "string"
    for text in good:
        cls.parse(text)
        assert pattern.search(text), text
    for text in bad:
        with pytest.raises(UnitError):
            cls.parse(text)
        assert not pattern.search(text), text
