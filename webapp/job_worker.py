"""A long-job worker's process: ``python -m webapp.job_worker`` (started by ``webapp.long_jobs.LongJobs``).

It yields the processor first, then loads TensorFlow and answers the server's jobs, one at a time: a JSON
line in (the function, its arguments, the model's file and dataset), a JSON line out (the answer, or the
error). It ends when its stdin closes (the server has gone); a killed server's worker is killed by the kernel.
"""
from __future__ import annotations

import importlib
import os
import sys
from collections import OrderedDict
from typing import IO, Any, Callable

from cnn.idle_worker import die_with_parent, lower_priority

MODELS_KEPT = 4  # the served models of both datasets and the variants asked about (each with its compiled passes)


def job_function(name: str) -> Callable[..., Any]:
    """``module:function`` of webapp/ (the server's jobs name nothing else)."""
    module, _, function = name.partition(":")
    if not module.startswith("webapp.") or not function.isidentifier():
        raise ValueError(f"not a job of this app: {name!r}")
    return getattr(importlib.import_module(module), function)


def serve(requests: IO[str], replies: IO[str]) -> None:
    import json

    import tensorflow as tf

    from cnn.model_manager import ServedModel
    from cnn.model_store import load_model
    from webapp.once import to_json
    from webapp.served import ExplainerSet

    # One core's idle time at most: a second thread would mostly compete for the caches and memory bandwidth
    # that the server's requests use.
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    explainer_sets: OrderedDict[str, ExplainerSet] = OrderedDict()  # by model file, most recently used last

    def explainers_of(path: str, dataset: str) -> ExplainerSet:
        if path not in explainer_sets:
            explainer_sets[path] = ExplainerSet(ServedModel(dataset, load_model(path)))
            while len(explainer_sets) > MODELS_KEPT:
                explainer_sets.popitem(last=False)
        explainer_sets.move_to_end(path)
        return explainer_sets[path]

    for line in requests:
        request = json.loads(line)
        try:
            function = job_function(request["function"])
            reply = '{"result": ' + to_json(function(explainers_of(request["model"], request["dataset"]),
                                                     *request["args"])) + "}"
        except Exception as err:  # reported to the server, which raises it there
            reply = json.dumps({"error": str(err), "kind": type(err).__name__})
        replies.write(reply + "\n")
        replies.flush()


if __name__ == "__main__":
    die_with_parent()
    lower_priority()
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w")  # the protocol's channel...
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # ... and anything else printed goes to stderr
    serve(sys.stdin, protocol)
