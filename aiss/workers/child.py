"""The worker process: make one object, then answer calls on it until stdin closes.

    python -m aiss.workers.child PARENT_PID NAME

The parent sends its `sys.path`, then a factory (a picklable callable); the
child answers `("ready", description)` or `("failed", error)`, then each
`(call_id, method, args)` with `(call_id, True, result)` or
`(call_id, False, exception)`, in order; the result or exception travels
pickled inside the frame, so one the parent cannot read fails only its call.
It dies with its parent: the kernel sends SIGKILL when the thread that started
it exits (PR_SET_PDEATHSIG; the event loop's thread, which lives as long as
the server), and a closed stdin ends it too.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import sys
import traceback
from typing import Any, BinaryIO

from . import frames

PR_SET_PDEATHSIG = 1


def die_with(parent: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent:  # the parent died before the request took hold
        os._exit(1)


def portable(exc: BaseException) -> BaseException:
    """The exception itself if it is a builtin or this project's and survives pickling,
    else a RuntimeError naming it: unpickling a library's exception in the server
    would import that library (onnxruntime, torch) there."""
    module = type(exc).__module__
    if module == "builtins" or module.split(".")[0] in ("aiss", "actors"):
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:
            pass
        else:
            return exc
    return RuntimeError(f"{type(exc).__name__}: {exc}")


def serve(incoming: BinaryIO, outgoing: BinaryIO) -> None:
    def send(value: Any) -> None:
        outgoing.write(frames.encode(value))
        outgoing.flush()

    path = frames.read(incoming)
    if path is None:
        return
    sys.path[:] = path
    factory = frames.read(incoming)
    if factory is None:
        return
    try:
        target = factory()
    except BaseException as exc:
        send(("failed", f"{type(exc).__name__}: {exc}"))
        traceback.print_exc()
        return
    send(("ready", repr(target)))
    while (call := frames.read(incoming)) is not None:
        call_id, method, args = call
        try:
            reply = (call_id, True, pickle.dumps(getattr(target, method)(*args), protocol=5))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # a library's panic too (PanicException): this call only
            reply = (call_id, False, pickle.dumps(portable(exc)))
        send(reply)
    close = getattr(target, "close", None)
    if callable(close):
        close()


def main() -> None:
    die_with(int(sys.argv[1]))
    # The protocol owns the original stdout; a stray print from a library goes to stderr.
    protocol = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when this ends
    serve(sys.stdin.buffer, protocol)


if __name__ == "__main__":
    main()
