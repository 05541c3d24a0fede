"""AT response parsers against the literal examples of docs/reference/modem-at.md, variants and sentinels."""

from __future__ import annotations

import ipaddress

import pytest

from testbed.drivers.at import Rat, RegStat, ResponseInvalid
from testbed.drivers.at.parsers import (
    parse_ati,
    parse_cgact,
    parse_cops,
    parse_csq,
    parse_pdp_addresses,
    parse_pdp_contexts,
    parse_port_readings,
    parse_qnwinfo,
    parse_qnwprefcfg,
    parse_registration,
    parse_registration_status,
    parse_serving_cell,
    parse_signal,
    registration_is_urc,
    split_fields,
)

SA = ('+QENG: "servingcell","NOCONN","NR5G-SA","TDD",460,01,9013B004,299,690E0F,633984,78,12,-107,-13,2,1,-')
NSA = ['+QENG: "servingcell","NOCONN"',
       '+QENG: "LTE","FDD",460,01,5F1EA15,12,1650,3,5,5,DE10,-99,-12,-67,11,9,230,-',
       '+QENG:"NR5G-NSA",460,01,747,-71,13,-11,627264,78,12,1']
LTE = '+QENG: "servingcell","NOCONN","LTE","FDD",460,01,5F1EA15,12,1650,3,5,5,DE10,-100,-12,-68,11,-,-,27'
LIMSRV = '+QENG: "servingcell","LIMSRV","NR5G-SA","TDD",001,01,000000E00,0,1,641280,78,3,-83,-11,23,1,44'


def test_search_layout() -> None:
    cell = parse_serving_cell(['+QENG: "servingcell","SEARCH"'])
    assert (cell.state, cell.rat, cell.nr, cell.lte, cell.registered) == ("SEARCH", Rat.NONE, None, None, False)


def test_sa_layout_from_the_manual() -> None:
    cell = parse_serving_cell([SA])
    assert cell.rat is Rat.SA and cell.state == "NOCONN" and cell.registered and cell.lte is None
    nr = cell.nr
    assert nr is not None
    assert (nr.duplex, nr.mcc, nr.mnc, nr.cell_id, nr.pci, nr.tac) == ("TDD", "460", "01", 0x9013B004, 299, 0x690E0F)
    assert (nr.arfcn, nr.band, nr.dl_bandwidth_mhz, nr.scs_khz) == (633984, 78, 100, 30)
    assert (nr.rsrp, nr.rsrq, nr.sinr, nr.srxlev) == (-107, -13, 2, None)  # srxlev "-" is None


def test_sa_layout_with_16_fields_of_older_firmware() -> None:
    cell = parse_serving_cell([SA.rsplit(",", 1)[0]])
    assert cell.nr is not None and cell.nr.scs_khz == 30 and cell.nr.srxlev is None


def test_nsa_three_lines_with_rsrp_sinr_rsrq_order_and_no_space_after_colon() -> None:
    cell = parse_serving_cell(NSA)
    assert cell.rat is Rat.NSA and cell.state == "NOCONN"
    assert cell.nr is not None and cell.lte is not None
    assert (cell.nr.pci, cell.nr.rsrp, cell.nr.sinr, cell.nr.rsrq) == (747, -71, 13, -11)
    assert (cell.nr.arfcn, cell.nr.band, cell.nr.dl_bandwidth_mhz, cell.nr.scs_khz) == (627264, 78, 100, 30)
    lte = cell.lte
    assert (lte.cell_id, lte.pci, lte.earfcn, lte.band, lte.tac) == (0x5F1EA15, 12, 1650, 3, 0xDE10)
    assert (lte.ul_bandwidth_mhz, lte.dl_bandwidth_mhz) == (20.0, 20.0)
    assert (lte.rsrp, lte.rsrq, lte.rssi, lte.sinr, lte.cqi, lte.tx_power_dbm) == (-99, -12, -67, 2, 9, 23.0)


@pytest.mark.parametrize("fields", [9, 10])
def test_nsa_line_of_old_rm500q_firmware(fields: int) -> None:
    short = NSA[2].split(",")[:fields]
    cell = parse_serving_cell([NSA[0], NSA[1], ",".join(short)])
    assert cell.nr is not None and cell.nr.band == 78 and cell.nr.scs_khz is None
    assert (cell.nr.dl_bandwidth_mhz is None) == (fields == 9)


def test_lte_layout_decodes_coded_sinr_and_dashes() -> None:
    cell = parse_serving_cell([LTE])
    assert cell.rat is Rat.LTE and cell.nr is None and cell.lte is not None
    assert (cell.lte.rsrp, cell.lte.rsrq, cell.lte.rssi, cell.lte.sinr) == (-100, -12, -68, 2)  # 2*11-20
    assert (cell.lte.cqi, cell.lte.tx_power_dbm, cell.lte.srxlev) == (None, None, 27)


def test_limsrv_field_capture() -> None:
    cell = parse_serving_cell([LIMSRV])
    assert cell.state == "LIMSRV" and not cell.registered and cell.nr is not None
    assert (cell.nr.mcc, cell.nr.cell_id, cell.nr.pci, cell.nr.tac, cell.nr.sinr, cell.nr.srxlev) == (
        "001", 0xE00, 0, 1, 23, 44)


@pytest.mark.parametrize("sentinel", ["-32768", "-3276", "32767"])
def test_sentinels_become_none(sentinel: str) -> None:
    line = LIMSRV.replace(",23,1,44", f",{sentinel},1,44")
    nr = parse_serving_cell([line]).nr
    assert nr is not None and nr.sinr is None and nr.rsrp == -83


def test_quoted_dash_is_invalid_too() -> None:
    nr = parse_serving_cell([SA.replace(",-107,", ',"-",')]).nr
    assert nr is not None and nr.rsrp is None


@pytest.mark.parametrize(("old", "new", "field"), [
    (",-107,", ",-150,", "RSRP"),
    (",-13,2,", ",-25,2,", "RSRQ"),
    (",-13,2,", ",-13,41,", "SINR"),
    (",12,-107", ",99,-107", "NR_DL_bandwidth"),
    (",299,", ",1008,", "PCID"),
    (",9013B004,", ",9013ZZ04,", "cellID"),
    (",460,", ",46,", "MCC"),
])
def test_out_of_range_values_name_field_and_value(old: str, new: str, field: str) -> None:
    with pytest.raises(ResponseInvalid, match=rf"<{field}>.*{new.strip(',').split(',')[-1]}|<{field}>"):
        parse_serving_cell([SA.replace(old, new, 1)])


def test_lte_sinr_coded_out_of_range_rejected_but_255_is_none() -> None:
    with pytest.raises(ResponseInvalid, match="<SINR>.*31"):
        parse_serving_cell([LTE.replace(",-68,11,", ",-68,31,")])
    lte = parse_serving_cell([LTE.replace(",-68,11,", ",-68,255,")]).lte
    assert lte is not None and lte.sinr is None


@pytest.mark.parametrize("lines", [
    [], ['+QENG: "servingcell","WEIRD"'], ['+QENG: "servingcell","NOCONN","GSM",1,2'],
    [SA.rsplit(",", 2)[0]], [SA + ",0"], NSA[:2], [NSA[0], NSA[2], NSA[1]], ["+QENGX: 1"], ['+QENG: "servingcell'],
    ['+QENG: "servingcell","NOCONN"', NSA[1], NSA[2].replace(",78,12,1", ",78,12,1,2,3")],
])
def test_malformed_serving_cell_is_refused(lines: list[str]) -> None:
    with pytest.raises(ResponseInvalid):
        parse_serving_cell(lines)


def test_port_readings_manual_and_sa_capture() -> None:
    lte = parse_port_readings(["+QRSRP: -101,-105,-105,-99,LTE"], "+QRSRP")
    assert lte.ports == (-101, -105, -105, -99) and lte.sysmode == "LTE" and lte.best == -99
    sa = parse_port_readings(["+QRSRP: -94,-88,-44,-44,NR5G"], "+QRSRP")
    assert sa.ports == (-94, -88, -44, -44) and sa.sysmode == "NR5G"
    invalid = parse_port_readings(["+QRSRP: -32768,-32768,-32768,-32768,NR5G"], "+QRSRP")
    assert invalid.ports == (None, None, None, None) and invalid.best is None
    with pytest.raises(ResponseInvalid, match="<DRX>.*-30"):
        parse_port_readings(["+QRSRP: -94,-30,-44,-44,NR5G"], "+QRSRP")


def test_signal_from_a_chained_response() -> None:
    signal = parse_signal(["+QRSRP: -94,-88,-32768,-32768,NR5G", "+QRSRQ: -11,-12,-32768,-32768,NR5G",
                           "+QSINR: 20,18,-32768,-32768,NR5G"])
    assert (signal.rsrp.best, signal.rsrq.best, signal.sinr.best, signal.sysmode) == (-88, -11, 20, "NR5G")


def test_csq() -> None:
    assert parse_csq(["+CSQ: 28,99"]).rssi_dbm == -57
    assert parse_csq(["+CSQ: 99,99"]) == parse_csq(["+CSQ:99,99"])
    assert parse_csq(["+CSQ: 99,99"]).rssi_dbm is None
    with pytest.raises(ResponseInvalid, match="<rssi>"):
        parse_csq(["+CSQ: 45,99"])


def test_registration_solicited_and_urc_shapes() -> None:
    cereg = parse_registration('+CEREG: 2,1,"DE10","5A29C0B",7')
    assert (cereg.kind, cereg.n, cereg.stat, cereg.area, cereg.cell_id, cereg.act) == (
        "CEREG", 2, RegStat.HOME, 0xDE10, 0x5A29C0B, 7)
    c5 = parse_registration('+C5GREG: 2,1,"690E0F","9013B004",11,4,"01.000000"')
    assert (c5.area, c5.cell_id, c5.act, c5.allowed_nssai, c5.registered) == (
        0x690E0F, 0x9013B004, 11, "01.000000", True)
    urc = parse_registration('+CREG: 1,"D509","80D413D",7')
    assert (urc.n, urc.stat, urc.area, urc.act) == (None, RegStat.HOME, 0xD509, 7)
    assert parse_registration("+CEREG: 2").stat is RegStat.SEARCHING
    assert parse_registration("+C5GREG: 0,8").stat is RegStat.EMERGENCY_ONLY
    assert registration_is_urc("+CEREG: 1") and registration_is_urc('+CEREG: 1,"DE10","5A29C0B",7')
    assert not registration_is_urc("+CEREG: 0,1") and not registration_is_urc('+CEREG: 2,1,"DE10","5A29C0B",7')
    for bad in ("+CEREG: 0,8", "+CEREG: 0,6", '+CEREG: 2,1,"DE10","5A29C0B",7,1,2,3', "+CEREG: x,1"):
        with pytest.raises(ResponseInvalid):
            parse_registration(bad)


def test_registration_status_of_a_chained_read() -> None:
    status = parse_registration_status(["+CREG: 0,0", "+CEREG: 0,0", '+C5GREG: 2,1,"690E0F","9013B004",11'])
    assert status.registered and status.c5greg is not None and status.creg is not None
    assert not parse_registration_status(["+CREG: 0,2", "+CEREG: 0,2", "+C5GREG: 0,2"]).registered


def test_cops() -> None:
    assert parse_cops(['+COPS: 0,0,"CHINA MOBILE",13']) == parse_cops(['+COPS: 0,0,"CHINA MOBILE",13'])
    op = parse_cops(['+COPS: 0,0,"CHINA MOBILE",13'])
    assert (op.mode, op.format, op.name, op.act) == (0, 0, "CHINA MOBILE", 13)
    assert parse_cops(["+COPS: 0"]).name is None


def test_qnwinfo() -> None:
    (info,) = parse_qnwinfo(['+QNWINFO: "TDD NR5G","99970","NR5G BAND 78",641280'])
    assert (info.act, info.operator, info.band, info.channel) == ("TDD NR5G", "99970", "NR5G BAND 78", 641280)
    assert parse_qnwinfo(["+QNWINFO: No Service"]) == ()


def test_pdp_addresses() -> None:
    (addr,) = parse_pdp_addresses(['+CGPADDR: 1,"10.76.51.180"'])
    assert addr.cid == 1 and addr.ipv4 == ipaddress.IPv4Address("10.76.51.180") and addr.ipv6 is None
    (dual,) = parse_pdp_addresses(['+CGPADDR: 2,"10.0.0.2","32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1"'])
    assert dual.ipv6 == ipaddress.IPv6Address("2001:db8::1") and dual.ipv4 is not None
    assert parse_pdp_addresses(['+CGPADDR: 1,"0.0.0.0"'])[0].ipv4 is None
    assert parse_pdp_addresses(["+CGPADDR: 3"])[0].ipv4 is None
    with pytest.raises(ResponseInvalid, match="<addr1>"):
        parse_pdp_addresses(['+CGPADDR: 1,"10.76.51"'])


def test_pdp_contexts_long_5g_tail_and_cgact() -> None:
    (ctx,) = parse_pdp_contexts(['+CGDCONT: 1,"IP","oai","0.0.0.0",0,0,0,0,,,,,,,,,"",,,,0'])
    assert (ctx.cid, ctx.pdp_type, ctx.apn, ctx.address) == (1, "IP", "oai", "0.0.0.0")
    assert parse_cgact(["+CGACT: 1,1", "+CGACT: 2,0"]) == {1: True, 2: False}
    with pytest.raises(ResponseInvalid, match="<state>"):
        parse_cgact(["+CGACT: 1,2"])


def test_ati_both_modules_and_prefcfg() -> None:
    ident = parse_ati(["Quectel", "RG520NNA", "Revision: RG520NNAAAR01A01M4G"])
    assert (ident.manufacturer, ident.model, ident.revision) == ("Quectel", "RG520NNA", "RG520NNAAAR01A01M4G")
    assert parse_ati(["Quectel", "RM500Q-GL", "Revision: RM500QGLABR11A06M4G"]).model == "RM500Q-GL"
    assert parse_qnwprefcfg(['+QNWPREFCFG: "mode_pref",LTE:NR5G'], "mode_pref") == "LTE:NR5G"
    with pytest.raises(ResponseInvalid):
        parse_qnwprefcfg(['+QNWPREFCFG: "nr5g_band",1:78'], "mode_pref")


def test_split_fields_keeps_commas_inside_quotes() -> None:
    assert split_fields('0,0,"A,B",13') == ["0", "0", '"A,B"', "13"]
    with pytest.raises(ResponseInvalid):
        split_fields('0,"open')
