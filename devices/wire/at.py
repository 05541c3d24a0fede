"""AT command line syntax shared by the modem emulator and the controller's AT client.

A command line after ``AT`` may chain several commands with ``;``; a ``;`` inside a quoted
string argument (``AT+QENG="servingcell"``) does not split. 3GPP TS 27.007 §4.0 and V.250
§5.4 define the chaining; both sides must split a line the same way, so the rule lives here.
"""

from __future__ import annotations


def split_chain(body: str) -> list[str]:
    """The text after ``AT`` split at ``;`` outside double quotes (elements kept verbatim)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in body:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts
