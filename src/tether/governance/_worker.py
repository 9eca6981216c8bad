"""The sandboxed tool worker: run as a script (``python -I _worker.py``), never imported by tether.

It reads one JSON request on stdin (the tool's module and qualified name, the raw arguments,
the permissions and the parent's ``sys.path``), imports the tool, installs an audit hook that
refuses what the permissions do not allow, calls the tool and writes one JSON reply on the
original stdout. The tool's own prints go to stderr. The limits of the process (memory, CPU,
file size, time, namespaces) are set by the parent before this starts.
"""

from __future__ import annotations

import importlib
import inspect
import ipaddress
import json
import os
import socket
import sys
import threading
from typing import Any

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_MODULE_SUFFIXES = (".py", ".pyc", ".so", ".pth", ".pyi", ".typed")
_DEVICES = ("/dev/null", "/dev/urandom", "/dev/random", "/dev/zero")
_SPAWN_EVENTS = {
    "os.fork",
    "os.forkpty",
    "os.posix_spawn",
    "os.exec",
    "os.spawn",
    "os.system",
    "os.startfile",
    "subprocess.Popen",
    "pty.spawn",
}
_WRITE_EVENTS = {
    "os.remove",
    "os.rmdir",
    "os.mkdir",
    "os.chmod",
    "os.chown",
    "os.truncate",
    "os.utime",
    "os.chflags",
    "os.setxattr",
    "os.removexattr",
    "shutil.rmtree",
    "os.mkfifo",
    "os.mknod",
}
_TWO_PATH_EVENTS = {"os.rename", "os.link", "os.symlink", "shutil.copyfile", "shutil.move"}


class Denied(PermissionError):
    """What the audit hook raises for an operation the permissions do not allow."""


def _within(path: str, roots: list[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


class _Guard:
    def __init__(self, permissions: dict[str, Any], home: str) -> None:
        files = permissions.get("filesystem", {})
        self.write_roots = [*files.get("write", []), home]
        self.read_roots = [*files.get("read", []), *self.write_roots]
        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
        self.python_roots = [os.path.realpath(p) for p in prefixes]
        self.import_roots = [os.path.realpath(p) for p in sys.path if p]
        self.subprocess = bool(permissions.get("subprocess"))
        self.hosts = list(permissions.get("network", []))
        self.addresses = self._resolve(self.hosts)
        self.denials: list[str] = []
        self.local = threading.local()

    @staticmethod
    def _resolve(hosts: list[str]) -> set[tuple[str, int | None]]:
        allowed: set[tuple[str, int | None]] = set()
        for entry in hosts:
            host, _, port_text = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
            port = int(port_text) if port_text.isdigit() else None
            host = host or entry
            allowed.add((host, port))
            try:
                ipaddress.ip_address(host)
                continue
            except ValueError:
                pass
            try:
                for info in socket.getaddrinfo(host, None):
                    allowed.add((str(info[4][0]), port))
            except OSError:
                pass
        return allowed

    def deny(self, what: str) -> None:
        self.denials.append(what)
        raise Denied(f"not permitted: {what}")

    def _path(self, value: Any) -> str | None:
        if isinstance(value, int) or value is None:
            return None  # an fd already open, or "the current directory" of an fd call
        if isinstance(value, bytes):
            value = os.fsdecode(value)
        return os.path.realpath(str(value))

    def _may_read(self, path: str, listing: bool = False) -> bool:
        if _within(path, self.read_roots) or _within(path, self.python_roots) or path in _DEVICES:
            return True
        if _within(path, self.import_roots):  # imports: modules and the folders they are in
            return listing or path.endswith(_MODULE_SUFFIXES) or os.path.isdir(path)
        return False

    def _host_allowed(self, address: Any) -> bool:
        if isinstance(address, tuple) and len(address) >= 2:
            host, port = str(address[0]), address[1]
            return (host, port) in self.addresses or (host, None) in self.addresses
        return False  # unix sockets and other families: never

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if getattr(self.local, "busy", False):
            return
        self.local.busy = True
        try:
            self._check(event, args)
        finally:
            self.local.busy = False

    def _check(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path = self._path(args[0])
            if path is None:
                return
            mode, flags = args[1], args[2] or 0
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool(
                flags & _WRITE_FLAGS
            )
            if writes and not _within(path, self.write_roots) and path not in _DEVICES:
                self.deny(f"writing {path} (filesystem.write)")
            if not writes and not self._may_read(path):
                self.deny(f"reading {path} (filesystem.read)")
        elif event in ("os.listdir", "os.scandir"):
            path = self._path(args[0] if args else ".")
            if path is not None and not self._may_read(path, listing=True):
                self.deny(f"listing {path} (filesystem.read)")
        elif event in _WRITE_EVENTS:
            path = self._path(args[0])
            if path is not None and not _within(path, self.write_roots):
                self.deny(f"{event} on {path} (filesystem.write)")
        elif event == "sqlite3.connect":  # SQLite opens (and may create) the file itself
            path = self._path(args[0]) if args else None  # ":memory:" resolves into HOME
            if path is not None and not _within(path, self.write_roots):
                self.deny(f"opening the database {path} (filesystem.write)")
        elif event in _TWO_PATH_EVENTS:
            for value in args[:2]:
                path = self._path(value)
                if path is not None and not _within(path, self.write_roots):
                    self.deny(f"{event} on {path} (filesystem.write)")
        elif event in _SPAWN_EVENTS:
            if not self.subprocess:
                self.deny(f"{event} (subprocess)")
        elif event in ("os.kill", "os.killpg"):
            if not self.subprocess and args and args[0] not in (os.getpid(), 0):
                self.deny(f"{event} (subprocess)")
        elif event == "socket.__new__":
            family = args[1] if len(args) > 1 else socket.AF_INET
            if not self.hosts and family in (socket.AF_INET, socket.AF_INET6, -1):
                self.deny("opening a network socket (network)")
        elif event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
            address = args[1] if len(args) > 1 else None
            if address is not None and not self._host_allowed(address):
                self.deny(f"connecting to {address!r} (network)")
        elif event == "socket.bind":
            self.deny(f"binding {args[1] if len(args) > 1 else ''!r} (network)")
        elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"):
            host = args[0]
            if isinstance(host, bytes):
                host = host.decode(errors="replace")
            if not any(str(host) == allowed for allowed, _ in self.addresses):
                self.deny(f"resolving {host!r} (network)")
        elif event == "socket.gethostbyaddr":
            self.deny("reverse lookups (network)")
        elif event.startswith("ctypes."):
            self.deny(f"{event} (native code)")


# Landlock (Linux 5.13+): syscalls (the same numbers on every architecture) and access rights.
_LL_CREATE, _LL_ADD_RULE, _LL_RESTRICT = 444, 445, 446
_LL_READ = 1 | 4 | 8  # execute, read a file, read a directory
_LL_FILE_RIGHTS = 1 | 2 | 4 | (1 << 14) | (1 << 15)  # those a rule on a file (not a dir) may hold
_SHARED_LIBRARIES = [
    "/lib",
    "/lib64",
    "/usr/lib",
    "/usr/lib64",
    "/usr/local/lib",
    "/etc/ld.so.cache",
]
#: What the C library reads for any process (the local time zone, the CPUs): refusing them
#: would change what a tool sees (UTC for local time), not what it may reach.
_SYSTEM_FILES = ["/etc/localtime", "/usr/share/zoneinfo", "/sys/devices/system/cpu"]
#: What resolving a name and checking a certificate read, for a tool allowed the network.
_NETWORK_FILES = [
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/etc/services",
    "/etc/protocols",
    "/etc/ssl",
    "/etc/pki",
    "/usr/share/ca-certificates",
]


def _confine_files(read: list[str], write: list[str]) -> bool:
    """Have the kernel (Landlock) refuse files outside ``read`` and ``write`` to this process and
    its children, whatever the Python code does to the audit hook; False where it is not there.

    Called before the audit hook is installed (it refuses ctypes). A path that does not exist
    is allowed through its parent directory, when that exists (a file the tool will create)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        abi = libc.syscall(_LL_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except (OSError, AttributeError):
        return False
    if abi < 1:
        return False
    handled = (1 << 13) - 1  # ABI 1: execute .. make a symlink
    for version, right in ((2, 1 << 13), (3, 1 << 14), (5, 1 << 15)):  # refer, truncate, ioctl
        if abi >= version:
            handled |= right
    attr = ctypes.c_uint64(handled)  # struct landlock_ruleset_attr: handled_access_fs first
    ruleset = libc.syscall(_LL_CREATE, ctypes.byref(attr), ctypes.c_size_t(8), ctypes.c_uint32(0))
    if ruleset < 0:
        return False

    class Beneath(ctypes.Structure):  # struct landlock_path_beneath_attr (packed)
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    def allow(path: str, rights: int) -> None:
        if not os.path.exists(path):
            path = os.path.dirname(path.rstrip("/")) or "/"
            if path == "/" or not os.path.isdir(path):
                return
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        try:
            if not os.path.isdir(path):
                rights &= _LL_FILE_RIGHTS
            rule = Beneath(rights & handled, fd)
            libc.syscall(_LL_ADD_RULE, ruleset, 1, ctypes.byref(rule), ctypes.c_uint32(0))
        finally:
            os.close(fd)

    try:
        for path in read:
            allow(path, _LL_READ)
        for path in write:
            allow(path, handled)
        libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS, which restrict_self needs
        return bool(libc.syscall(_LL_RESTRICT, ruleset, ctypes.c_uint32(0)) == 0)
    finally:
        os.close(ruleset)


def _target(module_name: str, qualname: str) -> Any:
    found: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def _reply(out: int, payload: dict[str, Any]) -> None:
    try:
        data = json.dumps(payload, default=_jsonable)
    except (TypeError, ValueError) as exc:
        data = json.dumps({"error": {"type": "TypeError", "message": f"result not JSON: {exc}"}})
    view = memoryview(data.encode())
    while view:
        view = view[os.write(out, view) :]


def _jsonable(value: Any) -> Any:
    try:
        from pydantic_core import to_jsonable_python

        return to_jsonable_python(value)
    except Exception:
        return repr(value)


def main() -> int:
    """Run the requested tool once; the reply is JSON on the original stdout."""
    out = os.dup(1)
    os.dup2(2, 1)  # the tool's prints go to stderr, not into the reply
    request = json.loads(sys.stdin.buffer.read())
    sys.path[:] = [p for p in request["sys_path"] if isinstance(p, str)]
    home = os.getcwd()
    try:
        target = _target(request["module"], request["qualname"])
        function = getattr(target, "function", target)  # a Tool, or the function itself
        validate = getattr(target, "validate_args", None)
        kwargs = validate(request["args"]) if validate is not None else dict(request["args"])
        positional = [kwargs.pop(p) for p in getattr(target, "_positional", ())]
        import asyncio  # before the hook: the loop's self-pipe is a socket pair

        loop = asyncio.new_event_loop() if inspect.iscoroutinefunction(function) else None
    except BaseException as exc:
        _reply(out, {"error": {"type": type(exc).__name__, "message": str(exc), "setup": True}})
        return 0
    guard = _Guard(request["permissions"], home)
    if not guard.subprocess and sys.platform == "linux":  # programs it starts need the system
        readable = [*guard.read_roots, *guard.python_roots, *guard.import_roots, *_DEVICES]
        readable += _SHARED_LIBRARIES  # what extension modules load (dlopen); the hook still
        # refuses opening them from Python
        readable += _SYSTEM_FILES + (_NETWORK_FILES if guard.hosts else [])
        readable += [os.path.realpath(p) for p in readable if os.path.islink(p)]  # the targets
        _confine_files(readable, [*guard.write_roots, *_DEVICES])
    try:
        import _posixsubprocess

        if not guard.subprocess:
            _posixsubprocess.fork_exec = _refuse(guard)
    except ImportError:
        pass
    sys.addaudithook(guard)
    try:
        if loop is not None:
            value = loop.run_until_complete(function(*positional, **kwargs))
        else:
            value = function(*positional, **kwargs)
    except BaseException as exc:
        kind = "Denied" if guard.denials else type(exc).__name__
        module = type(exc).__module__
        retry = module.startswith("tether") and type(exc).__name__ == "Retry"
        message = getattr(exc, "message", None) if retry else None
        _reply(
            out,
            {
                "error": {
                    "type": kind,
                    "raised": type(exc).__name__,
                    "message": str(message if message is not None else exc),
                    "denials": guard.denials,
                    "retry": retry,
                }
            },
        )
        return 0
    _reply(out, {"value": value, "denials": guard.denials})
    return 0


def _refuse(guard: _Guard) -> Any:
    def fork_exec(*args: Any, **kwargs: Any) -> Any:
        guard.deny("starting a process (subprocess)")

    return fork_exec


if __name__ == "__main__":
    sys.exit(main())
