"""Sweep points on a ``dask.distributed`` cluster: the backend behind ``--cluster ADDRESS``.

Dask does the distributing; this module only ships each point and gathers what comes back.
What goes to a worker is one small task per point: :func:`labs.sweep.call_point` with the
point function (pickled by reference: its module and name, so every worker needs netsim
installed, the same version as here) and the point's keyword arguments. Nothing the worker
sends back depends on which worker it was: a point builds its own Network from its own seed,
and the results are put back in point order.

When a worker dies mid-point (killed, out of memory, its machine rebooted), Dask's scheduler
runs the point again elsewhere, up to ``distributed.scheduler.allowed-failures`` times (3 by
default); a result this module has already taken is never taken twice, so nothing is lost
and nothing counted twice. A point that kills every worker it lands on comes back as a failed
point, reported by its parameters like any other failure.

Dask is an optional extra: ``pip install 'netsim[cluster]'``.
"""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["ClusterError", "require_dask", "check_address", "run_on_cluster", "INSTALL_HINT"]

INSTALL_HINT = "pip install 'netsim[cluster]'"
CONNECT_TIMEOUT_S = 10
# A scheduler address: tcp://host:port (also tls://, ws://, wss://, inproc://), or host:port.
_ADDRESS = re.compile(r"^((tcp|tls|ws|wss|inproc|ucx)://)?(\[[0-9a-fA-F:.]+\]|[^\s:/\[\]]+)"
                      r"(:(\d{1,5}))?(/\S*)?$")


class ClusterError(Exception):
    """The cluster cannot be used: Dask missing, a bad address, no scheduler there.
    ``str()`` is the whole message, one line."""


def require_dask(label: str = "--cluster"):
    """Import ``distributed``, or say in one line how to install it (``label``: what asked
    for the cluster, ``--cluster`` or ``NETSIM_DASK_SCHEDULER``).

    Raises:
        ClusterError: Dask is not installed.
    """
    try:
        import distributed
    except ImportError as exc:
        missing = getattr(exc, "name", None) or "distributed"
        raise ClusterError(f"{label} needs Dask ({missing} is not installed): "
                           f"{INSTALL_HINT}") from None
    return distributed


def check_address(address: str, label: str = "--cluster") -> str:
    """The scheduler address, stripped; a malformed one is refused in one line that names
    ``label`` (``--cluster`` or ``NETSIM_DASK_SCHEDULER``).

    Raises:
        ClusterError: not ``tcp://host:port`` (or tls://, ws://, host:port).
    """
    text = address.strip()
    m = _ADDRESS.match(text)
    port = m[5] if m else None
    if not m or (port is not None and not 0 < int(port) < 65536) or \
            (m[2] != "inproc" and port is None):
        raise ClusterError(f"{label} must be a Dask scheduler address like "
                           f"tcp://scheduler:8786 (got {address!r})")
    return text


def _connect(address: str):
    distributed = require_dask()
    try:
        return distributed.Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except OSError as exc:  # TimeoutError, ConnectionRefusedError, a name that does not resolve
        why = " ".join(str(exc).split()) or type(exc).__name__
        raise ClusterError(f"cannot reach the Dask scheduler at {address} ({why}); start one "
                           f"with: dask scheduler") from None


def run_on_cluster(address: str, task: Callable[..., Any], fn: Callable[..., Any],
                   points: Sequence[dict[str, Any]], label: str,
                   done: Callable[[int, bool, Any], bool], extra: tuple = ()) -> None:
    """Run ``task(fn, point, *extra)`` for every point on the cluster at ``address``.

    Args:
        task: what each worker calls (:func:`labs.sweep.call_point`).
        extra: more arguments for every task (the code fingerprint).
        done: ``done(index, ok, value_or_exception)`` as each point finishes, in the order
            they finish; it returns False to stop the sweep (the rest is cancelled).

    Raises:
        ClusterError: Dask missing, or no scheduler at ``address``.
    """
    distributed = require_dask()
    client = _connect(address)
    futures: dict[Any, int] = {}
    try:
        _note_workers(client, address)
        tag = uuid.uuid4().hex[:8]  # students of one class may share a scheduler
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", label.split(":")[0]).strip("-") or "sweep"
        for i, point in enumerate(points):
            # A key per point, never reused: Dask may run a task again after a worker died,
            # but it finishes each key once, and each key is read once below.
            fut = client.submit(task, fn, point, *extra, key=f"netsim-{name}-{tag}-{i}",
                                retries=0)
            futures[fut] = i
        for fut in distributed.as_completed(list(futures), loop=client.loop):
            i = futures.pop(fut)
            if fut.status == "finished":
                ok, value = True, fut.result()
            else:
                ok, value = False, _failure(fut, distributed)
            fut.release()  # the worker may drop it: it is never needed again
            if not done(i, ok, value):
                break
    finally:
        if futures:
            client.cancel(list(futures))
        client.close()


def _failure(fut, distributed) -> BaseException:
    """The exception of a failed point, re-raised from the worker with its traceback."""
    try:
        fut.result()
    except distributed.KilledWorker as exc:
        # Dask's message is a paragraph about worker logs; say what happened in one line.
        err = RuntimeError("every worker that ran this point died while running it "
                           "(Dask KilledWorker): the point crashes Python or runs out of "
                           "memory")
        err.__cause__ = exc
        return err
    except Exception as exc:  # noqa: BLE001 - the point's own error, reported by the caller
        return exc
    except BaseException as exc:  # noqa: BLE001 - asyncio.CancelledError: scheduler restarted
        return RuntimeError(f"the point was cancelled on the cluster ({type(exc).__name__})")
    return RuntimeError(f"the point ended as {fut.status!r} on the cluster")


def _note_workers(client, address: str) -> None:
    """One line on stderr when the cluster cannot run points side by side as it is set up."""
    workers = client.scheduler_info().get("workers", {})
    if not workers:
        print(f"netsim: the Dask scheduler at {address} has no workers yet; waiting for them "
              f"(start one on each machine with: dask worker {address} --nthreads 1)",
              file=sys.stderr)
        return
    threaded = [w for w in workers.values() if w.get("nthreads", 1) > 1]
    if threaded:
        # netsim runs one point at a time per process (labs.sweep.call_point takes a lock):
        # the simulator and matplotlib keep process-wide state, and the GIL would serialise
        # the threads anyway. Worker processes, not threads, run points side by side.
        print(f"netsim: {len(threaded)} of {len(workers)} Dask workers have more than one "
              f"thread; each runs one point at a time. Start workers with --nthreads 1 "
              f"--nworkers N to run N points at once on a machine", file=sys.stderr)
