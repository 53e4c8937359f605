"""Run a function in a separate, time- and memory-limited worker process.

The expensive parsers (OCR, layout models) and the cheap pass run here so that a page that
hangs or blows up memory costs one killed worker and a flag on that page, never a stuck Spark
task. The worker is a plain ``python -m sciforge.pipelines.pdf.isolate`` child (not multiprocessing,
which would re-import the parent's ``__main__``: a Spark worker or a REPL); it is started once,
reused for the following calls, and restarted after a kill. Messages are length-prefixed
pickles over the child's stdin/stdout; the child's own prints go to stderr.
"""

from __future__ import annotations

import importlib
import os
import pickle
import select
import struct
import subprocess
import sys
import time
import traceback
from typing import Any, BinaryIO

_HEADER = struct.Struct("<Q")
# Start-up allowance (interpreter + preloaded imports) before the per-call limits apply: ~1 s on
# an idle core, tens of seconds on a loaded executor.
STARTUP_TIMEOUT_S = 180.0


class PageTimeout(RuntimeError):
    """The worker did not answer within the time limit (it was killed)."""


class WorkerCrashed(RuntimeError):
    """The worker died (out of memory, segfault) while working."""


class BackendError(RuntimeError):
    """The function raised; the message carries its type, text and a short traceback."""


def resolve(ref: str) -> Any:
    """'package.module:function' -> the function."""
    mod, _, name = ref.partition(":")
    return getattr(importlib.import_module(mod), name)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: SIGKILL the worker when its parent (the Spark task's Python) dies."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _write_msg(f: BinaryIO, obj: Any) -> None:
    blob = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    f.write(_HEADER.pack(len(blob)) + blob)
    f.flush()


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def serve(memory_mb: int | None, preload: list[str] | None = None) -> None:  # pragma: no cover - child
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything the backends print goes to stderr, not into the protocol
    if memory_mb:
        import resource

        limit = memory_mb * 1024 * 1024
        try:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        except (ValueError, OSError):
            pass
    for mod in preload or []:  # heavy imports happen before the first page's clock starts
        importlib.import_module(mod)
    _write_msg(proto_out, (True, "ready"))
    fd_in = sys.stdin.buffer.fileno()
    while True:
        try:
            (n,) = _HEADER.unpack(_read_exact(fd_in, _HEADER.size, None))
            ref, args = pickle.loads(_read_exact(fd_in, n, None))
        except EOFError:
            return
        try:
            _write_msg(proto_out, (True, resolve(ref)(*args)))
        except MemoryError:
            _write_msg(proto_out, (False, "MemoryError: exceeded the worker's memory limit"))
        except BaseException as e:  # report everything; the parent decides
            tb = traceback.format_exc(limit=4)
            _write_msg(proto_out, (False, f"{type(e).__name__}: {e}\n{tb}"[:4000]))


class IsolatedWorker:
    """One reusable child process. ``call(ref, args, timeout)`` returns ``ref(*args)``."""

    def __init__(self, memory_mb: int | None = None, preload: tuple[str, ...] = ()) -> None:
        self.memory_mb = memory_mb
        self.preload = preload
        self._proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def _start(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # same imports as the parent
        env.setdefault("OMP_THREAD_LIMIT", "1")  # Tesseract/ONNX: one thread per worker
        env.setdefault("OMP_NUM_THREADS", "1")
        cmd = [sys.executable, "-m", "sciforge.pipelines.pdf.isolate", str(self.memory_mb or 0), *self.preload]
        self._proc = proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                             preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        self.starts += 1
        assert proc.stdout is not None
        try:
            (n,) = _HEADER.unpack(_read_exact(proc.stdout.fileno(), _HEADER.size,
                                              time.monotonic() + STARTUP_TIMEOUT_S))
            _read_exact(proc.stdout.fileno(), n, time.monotonic() + STARTUP_TIMEOUT_S)
        except (TimeoutError, EOFError, OSError):
            code = proc.poll()
            self.kill()
            raise WorkerCrashed(f"worker did not start within {STARTUP_TIMEOUT_S:.0f} s (exit code {code})") \
                from None
        return proc

    @property
    def pid(self) -> int | None:
        """The live worker's process id (None before the first call or after a kill)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def call(self, ref: str, args: tuple[Any, ...], timeout: float) -> Any:
        proc = self._proc if self._proc is not None and self._proc.poll() is None else self._start()
        assert proc.stdin is not None and proc.stdout is not None
        deadline = time.monotonic() + timeout
        try:
            _write_msg(proc.stdin, (ref, args))  # type: ignore[arg-type]
            (n,) = _HEADER.unpack(_read_exact(proc.stdout.fileno(), _HEADER.size, deadline))
            ok, value = pickle.loads(_read_exact(proc.stdout.fileno(), n, deadline))
        except TimeoutError:
            self.kill()
            raise PageTimeout(f"no answer within {timeout:.0f} s; worker killed") from None
        except (EOFError, BrokenPipeError, OSError):
            code = proc.poll()
            self.kill()
            raise WorkerCrashed(f"worker died (exit code {code})") from None
        if not ok:
            raise BackendError(value)
        return value

    def kill(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait(10)
            for f in (self._proc.stdin, self._proc.stdout):
                if f is not None:
                    f.close()
        self._proc = None

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                assert self._proc.stdin is not None
                self._proc.stdin.close()  # EOF: the child exits its loop
                self._proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def __enter__(self) -> IsolatedWorker:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.kill()
        except Exception:
            pass


if __name__ == "__main__":  # pragma: no cover
    serve(int(sys.argv[1]) if len(sys.argv) > 1 else None, sys.argv[2:])
