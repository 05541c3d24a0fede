"""``python -m testbed.vm._launch GUEST_TOOLS|- KERNEL_VERSION|- VIRTME_RUN_ARGS...``: virtme-run, adjusted.

Two things differ from running ``virtme-run`` itself, both decided by runner.py:

- GUEST_TOOLS: virtme-run boots ``<guest tools>/bin/virtme-ng-init`` from the folder
  ``virtme.resources.find_guest_tools()`` names; pointing it at the folder guest.py wrote puts
  testbed's init shim first. ``-`` keeps virtme-ng's own.
- KERNEL_VERSION: virtme-run learns the kernel's version (to find its modules) from
  ``file``, else by running ``strings`` over the image, else from its name. The runner knows
  it already, and the uncompressed PVH image ``file`` cannot read would need binutils just
  for this; so it is handed over. ``-`` lets virtme-run find out.

It runs in a process of its own (as virtme-run would) so that QEMU's exit, signals and
terminal handling stay virtme-run's business.
"""

from __future__ import annotations

import sys


def main() -> int:
    guest_tools, kernel_version, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if guest_tools != "-":
        import virtme.resources

        virtme.resources.find_guest_tools = lambda: guest_tools
    import virtme.commands.run as virtme_run

    if kernel_version != "-" and hasattr(virtme_run, "get_kernel_version"):
        virtme_run.get_kernel_version = lambda *_args, **_kwargs: kernel_version
    sys.argv = ["virtme-run", *args]
    return virtme_run.main()


if __name__ == "__main__":
    sys.exit(main())
