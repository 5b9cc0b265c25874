"""The training worker's process: ``python -m cnn.idle_worker MODEL_PATH`` (started by
``cnn.training_worker.train_in_worker``).

It yields the processor first, then loads TensorFlow (seconds of CPU) and trains: the web server's
requests come first from the very start.
"""
import os
import sys


def lower_priority() -> None:
    """Compute only when nobody else wants the processor (Linux), or at the lowest nice level."""
    if hasattr(os, "SCHED_IDLE"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    else:
        os.nice(19)


if __name__ == "__main__":
    lower_priority()
    from cnn.training_worker import worker_main  # only now, at idle priority: it imports TensorFlow

    sys.exit(worker_main(sys.argv[1]))
