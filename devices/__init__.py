"""Software that runs ON the rig's boxes (modem emulator, sensor agent, edge services).

Kept apart from ``testbed`` (the controller): the two sides meet only on the wire.
"""
