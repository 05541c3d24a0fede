"""The ``testbed`` command: one module per subcommand, registered here.

Exit codes (stable, for scripts):
  0 success; 1 a command failed at run time; 2 wrong usage; 3 a topology file is invalid;
  4 the host cannot do it (not root, kernel lacks a feature); 5 no such rig or node;
  6 the rig or its names already exist, or another command holds the rig; 7 a modem
  answered ERROR or +CME ERROR; 8 a modem did not answer in time.
``testbed exec`` returns the command's own exit code, 126 when it cannot be run and 127 when
it is not found.
"""

from __future__ import annotations

import click

from .. import __version__
from . import clean, doctor, down, exec_, graph, modem, report, schema, shape, status, timeline, up, validate, vm

EPILOG = """\b
Exit codes: 0 ok, 1 failed, 2 usage, 3 invalid topology, 4 host unsuitable (root, kernel),
5 no such rig or node, 6 rig exists or is busy, 7 the modem answered ERROR, 8 AT timeout.
`exec` returns the command's own code.

\b
Typical session (as root):
  testbed validate topologies/ward.yaml
  testbed up topologies/ward.yaml
  testbed exec ecg1 -- ping -c 3 10.99.0.2
  testbed status
  testbed down
"""


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}, epilog=EPILOG)
@click.version_option(__version__, prog_name="testbed")
def main() -> None:
    """Bring up and inspect 5G + edge + ledger healthcare rigs described by YAML topologies.

    An emulated rig lives on this host: each node is a network namespace named
    tb-<rig>-<node>, each link a veth pair with addresses and routes. State is kept under
    $TESTBED_RUN_DIR (default /run/testbed); `down` and `clean` remove exactly what testbed
    created, also after a crash.
    """


for module in (validate, up, status, exec_, shape, timeline, modem, down, clean, schema, graph, doctor, vm, report):
    main.add_command(module.command)
