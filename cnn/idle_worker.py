"""The training worker's process: ``python -m cnn.idle_worker MODEL_PATH`` (started by
``cnn.training_worker.train_in_worker``).

It yields the processor first, then loads TensorFlow (seconds of CPU) and trains: the web server's
requests come first from the very start. It ends with the server: a server that exits closes the
worker's stdin (a cancel), and one that is killed has the kernel kill the worker too (Linux).
"""
import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # linux/prctl.h: the signal this process gets when its parent dies


def die_with_parent() -> None:
    """Ask the kernel (Linux) to kill this process when the server that started it dies."""
    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the closed stdin still stops the training
        return
    if os.getppid() != parent:  # the server died before the request above
        os._exit(1)


def lower_priority() -> None:
    """Compute only when nobody else wants the processor (Linux), or at the lowest nice level."""
    if hasattr(os, "SCHED_IDLE"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    else:
        os.nice(19)


if __name__ == "__main__":
    die_with_parent()
    lower_priority()
    from cnn.training_worker import worker_main  # only now, at idle priority: it imports TensorFlow

    sys.exit(worker_main(sys.argv[1]))
