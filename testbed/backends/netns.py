"""Network namespaces without forking: unshare/setns on one dedicated thread.

pyroute2's ``IPRoute(netns=...)`` forks a child per namespace, which costs more than
shelling out to ``ip`` (see link-profiles.md §7.6). ``setns`` switches only the calling
thread, so all namespace work runs on :class:`NamespaceThread`, which always returns to
the namespace it started in; the rest of the process never leaves it.

Python 3.11 has no ``os.setns``/``os.unshare``, hence the small ctypes layer.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

NETNS_DIR = "/run/netns"
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MS_REC = 16384
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MNT_DETACH = 2
AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
PLACEHOLDER_XATTR = "trusted.testbed"

_libc = ctypes.CDLL(None, use_errno=True)
T = TypeVar("T")


def _check(result: int, what: str, target: str = "") -> None:
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}", target or None)


def netns_path(name: str) -> str:
    return os.path.join(NETNS_DIR, name)


def setns(fd: int) -> None:
    """Move the calling thread into the network namespace behind ``fd``."""
    _check(_libc.setns(fd, CLONE_NEWNET), "setns")


def list_netns() -> list[str]:
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def netns_inode(name: str) -> int | None:
    """The namespace's identity (nsfs inode), or None when no namespace is mounted there."""
    try:
        st = os.stat(netns_path(name))
    except FileNotFoundError:
        return None
    # A mounted namespace shows the nsfs file system; an unmounted placeholder does not.
    return st.st_ino if st.st_dev == _nsfs_dev() else None


_NSFS_DEV: int | None = None


def _nsfs_dev() -> int:
    """The device number of nsfs, where every namespace file lives."""
    global _NSFS_DEV
    if _NSFS_DEV is None:
        _NSFS_DEV = os.stat("/proc/self/ns/net").st_dev
    return _NSFS_DEV


def _prepare_netns_dir() -> None:
    """Make /run/netns a shared mount point, as ``ip netns add`` does, so mounts propagate."""
    os.makedirs(NETNS_DIR, exist_ok=True)
    if _libc.mount(b"", NETNS_DIR.encode(), b"none", MS_SHARED | MS_REC, None) == 0:
        return
    if ctypes.get_errno() != errno.EINVAL:
        _check(-1, "mount --make-shared", NETNS_DIR)
    _check(_libc.mount(NETNS_DIR.encode(), NETNS_DIR.encode(), b"none", MS_BIND | MS_REC, None),
           "mount --bind", NETNS_DIR)
    _check(_libc.mount(b"", NETNS_DIR.encode(), b"none", MS_SHARED | MS_REC, None), "mount --make-shared", NETNS_DIR)


def _make_tagged_placeholder(path: str, tag: str) -> None:
    """Create the mount point for a namespace so that it exists only with ``tag`` on it."""
    try:
        fd = os.open(NETNS_DIR, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            raise
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0)  # no O_TMPFILE here
        try:
            _set_tag(fd, tag)
        finally:
            os.close(fd)
        return
    try:
        _set_tag(fd, tag)
        if _libc.linkat(fd, b"", AT_FDCWD, path.encode(), AT_EMPTY_PATH) < 0:
            code = ctypes.get_errno()
            if code == errno.EEXIST:
                raise FileExistsError(code, "namespace name exists", path)
            _check(-1, "link", path)
    finally:
        os.close(fd)


def _set_tag(fd: int, tag: str) -> None:
    try:
        os.setxattr(fd, PLACEHOLDER_XATTR, tag.encode())
    except OSError as exc:
        if exc.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP):
            raise  # a file system without xattrs: only the journal knows the placeholder


def placeholder_tag(name: str) -> str | None:
    """The tag on an unmounted namespace name (left by a crash before the mount)."""
    try:
        return os.getxattr(netns_path(name), PLACEHOLDER_XATTR).decode(errors="replace")
    except OSError:
        return None


def remove_netns(name: str) -> None:
    """Unmount and unlink a namespace name; the kernel frees it once nothing holds it."""
    path = netns_path(name).encode()
    if _libc.umount2(path, MNT_DETACH) < 0 and ctypes.get_errno() not in (errno.EINVAL, errno.ENOENT):
        _check(-1, "umount", name)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class NamespaceThread:
    """One worker thread that may enter namespaces; every call returns it home."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="testbed-netns")
        self._home = self._pool.submit(lambda: os.open("/proc/thread-self/ns/net", os.O_RDONLY)).result()
        self._prepared = False
        self._ident = self._pool.submit(threading.get_ident).result()

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the namespace thread (directly when already on it)."""
        if threading.get_ident() == self._ident:
            return fn()
        return self._pool.submit(fn).result()

    def go_home(self) -> None:
        setns(self._home)

    def create(self, name: str, tag: str,
               on_created: Callable[[socket.socket], None] | None = None) -> socket.socket:
        """Create namespace ``name``; return a netlink route socket that lives inside it.

        Ownership is never in doubt, whenever the process dies: the name appears already
        carrying ``tag`` (an xattr set on an unnamed file before it is linked in), and
        ``on_created`` runs inside the new namespace *before* it is mounted at the name, so
        it can tag the namespace itself first. Must run on the namespace thread.
        """
        if not self._prepared:
            _prepare_netns_dir()
            self._prepared = True
        path = netns_path(name)
        _make_tagged_placeholder(path, tag)
        try:
            _check(_libc.unshare(CLONE_NEWNET), "unshare", name)
            try:
                sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0)
                try:
                    if on_created is not None:
                        on_created(sock)
                    _check(_libc.mount(b"/proc/thread-self/ns/net", path.encode(), b"none", MS_BIND, None),
                           "mount", name)
                except BaseException:
                    sock.close()
                    raise
                return sock
            finally:
                self.go_home()
        except BaseException:
            remove_netns(name)
            raise

    def socket_in(self, fd: int) -> socket.socket:
        """A netlink route socket inside the namespace behind ``fd``."""
        def make() -> socket.socket:
            setns(fd)
            try:
                return socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0)
            finally:
                self.go_home()
        return self.call(make)

    def close(self) -> None:
        self._pool.submit(os.close, self._home).result()
        self._pool.shutdown()


def write_sysctl(key: str, value: str) -> None:
    """Write a sysctl of the calling thread's network namespace (``net.ipv4.ip_forward``)."""
    with open("/proc/sys/" + key.replace(".", "/"), "w", encoding="ascii") as f:
        f.write(value)


def enter_for_exec(path: str) -> None:
    """Join a namespace for good, as ``ip netns exec`` does, before replacing this process.

    Besides the network namespace, this gives the process a private mount namespace with
    /sys remounted, so /sys/class/net shows the node's interfaces, not the host's.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        setns(fd)
    finally:
        os.close(fd)
    _check(_libc.unshare(CLONE_NEWNS), "unshare mount namespace")
    _check(_libc.mount(b"", b"/", b"none", MS_SLAVE | MS_REC, None), "mount --make-rslave /")
    if _libc.umount2(b"/sys", MNT_DETACH) == 0:
        _check(_libc.mount(b"sysfs", b"/sys", b"sysfs", 0, None), "mount sysfs")
