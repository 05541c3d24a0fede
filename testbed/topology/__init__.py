"""Topology files: the model, the strict loader, the JSON Schema and drawings of a rig."""

from .loader import load_topology, parse_topology
from .model import Addressing, Endpoint, Impairment, Link, Node, Profile, Role, Topology

__all__ = [
    "Addressing",
    "Endpoint",
    "Impairment",
    "Link",
    "Node",
    "Profile",
    "Role",
    "Topology",
    "load_topology",
    "parse_topology",
]
