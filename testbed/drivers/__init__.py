"""Drivers the controller uses to talk to rig hardware (or its emulated stand-ins) over its own interfaces."""
