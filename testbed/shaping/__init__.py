"""Link shaping: per-direction netem on every link, applied at bring-up, changed live, read back."""

from .shaper import DIRECTIONS, LinkEnd, ShapingError, apply_initial, change, link_ends, mismatches, read

__all__ = ["DIRECTIONS", "LinkEnd", "ShapingError", "apply_initial", "change", "link_ends", "mismatches", "read"]
