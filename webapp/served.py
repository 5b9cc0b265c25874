"""The explainers of each dataset's currently served model, and the shipped test sets.

Explainers compile TensorFlow functions for their model, so they are built once per
model and shared by every request; when a training swaps in a new model, the next
request builds a fresh set for it. What the views compute from a model (figures of its
weights, the test-set table, the robustness curve, synthesized images) is kept on its set,
so it goes when the model goes: computed once, by the first student who asks, while the
others who ask meanwhile wait for the same answer (webapp/once.py). Long computations run
where the server's runner puts them: in idle-priority worker processes for a class
(webapp/long_jobs.py), in the asking thread for scripts and tests.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Callable, Hashable, Protocol, TypeVar

import keras
import numpy as np

from cnn.architecture import architecture_of, conv_layer_names
from cnn.datasets import dataset_info, load_split, to_model_input
from cnn.evaluation import predict_logits
from cnn.model_manager import ModelManager, ServedModel
from cnn.model_store import ModelFileError
from explainers import METHODS, ActivationMaximizer, AttributionMethod, BaseCAM, FilterStats, FilterVisualizer
from webapp.long_jobs import InProcess
from webapp.once import Computation, Job, Results

STATS_IMAGES = 1000  # test images used to find dead filters
REMEMBERED = 32  # results of a student's own settings kept per model (the most recently asked)
# The methods a student can pick for the heatmap beside the sketch: light, and drawing regions of evidence.
LIVE_METHODS = [name for name, method in METHODS.items() if method.per_stroke and issubclass(method, BaseCAM)]
DEFAULT_METHOD = LIVE_METHODS[0]
Value = TypeVar("Value")


@lru_cache(maxsize=None)
def shipped_test_set(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 test images (float, N x 28 x 28 x 1) and labels shipped with the app."""
    images, labels = load_split(dataset, "test")
    return to_model_input(images), labels


class Runner(Protocol):
    """Where long jobs run (webapp/long_jobs.py): it sets the computation going and returns."""

    def run(self, explainer_set: Any, computation: Computation) -> None: ...


@dataclass(eq=False)
class ExplainerSet:
    served: ServedModel
    shuffled_labels: keras.Model | None = None  # the same network trained on shuffled labels, where shipped
    jobs: Runner = field(default_factory=InProcess)  # where its long jobs run
    methods: dict[str, AttributionMethod] = field(init=False)  # by display name, as in METHODS
    filters: FilterVisualizer = field(init=False)
    maximizer: ActivationMaximizer = field(init=False)
    _kept: Results = field(init=False, default_factory=Results)  # what does not depend on the student
    _recent: Results = field(init=False, default_factory=lambda: Results(REMEMBERED))  # a student's settings

    def __post_init__(self) -> None:
        model = self.served.model
        self.methods = {name: method(model) for name, method in METHODS.items()}
        self.filters, self.maximizer = FilterVisualizer(model), ActivationMaximizer(model)

    def cam(self, method: str) -> BaseCAM:
        """A method that can draw the live heatmap (see LIVE_METHODS)."""
        if method not in LIVE_METHODS:
            raise ValueError(f"Unknown method {method!r}: choose one of {LIVE_METHODS}.")
        return self.methods[method]

    def remember(self, key: Hashable, compute: Callable[[], Value]) -> Value:
        """``compute()`` in this process, once for this model however many students ask at once, and kept while
        it is served: for what does not depend on the student (keys from a small fixed set)."""
        return self._kept.once(key, lambda computation: computation.compute_here(compute)).wait()

    def long_job(self, key: Hashable, job: Job) -> Computation:
        """The job on this model, started by the first student who asks (where ``jobs`` runs it), shared with
        every other and kept while the model is served: for what does not depend on the student."""
        return self._kept.once(key, self._start, job)

    def recent_long_job(self, key: Hashable, job: Job) -> Computation:
        """The same for a job of a student's own settings: only the REMEMBERED most recently asked are kept."""
        return self._recent.once(key, self._start, job)

    def _start(self, computation: Computation) -> None:
        self.jobs.run(self, computation)

    @property
    def class_names(self) -> tuple[str, ...]:
        return dataset_info(self.served.dataset).class_names

    @property
    def test_set(self) -> tuple[np.ndarray, np.ndarray]:
        return shipped_test_set(self.served.dataset)

    @cached_property
    def test_predictions(self) -> np.ndarray:
        return predict_logits(self.served.model, self.test_set[0]).argmax(axis=1)

    @cached_property
    def misclassified(self) -> np.ndarray:
        """Indices of the test images this model gets wrong."""
        return np.flatnonzero(self.test_predictions != self.test_set[1])

    @cached_property
    def filter_stats(self) -> dict[str, FilterStats]:
        """Per conv layer, how its filters fire on the first 1,000 test images."""
        images = self.test_set[0][:STATS_IMAGES]
        return {layer: self.filters.filter_stats(images, layer) for layer in conv_layer_names(self.served.model)}

    @property
    def dead_filters(self) -> set[tuple[str, int]]:
        return {(layer, int(i)) for layer, stats in self.filter_stats.items() for i in np.flatnonzero(stats.dead)}

    def warm_up(self) -> None:
        """Trace the compiled functions now, so the first student does not wait for it."""
        blank = np.zeros((28, 28), np.float32)
        for name in LIVE_METHODS:
            self.cam(name).result(blank)
            self.cam(name).explain_all(blank)
        self.filters.all_feature_maps(blank)


class ServedExplainers:
    """The explainers of the model served now for each dataset, rebuilt (and warmed up) when it changes."""

    def __init__(self, manager: ModelManager, after_swap: Callable[[], None] = lambda: None,
                 jobs: Runner | None = None) -> None:
        self.manager, self.after_swap = manager, after_swap  # after_swap: once an old set is replaced
        self.jobs = jobs or InProcess()  # where the sets' long jobs run (LongJobs: idle-priority processes)
        self._sets: dict[str, ExplainerSet] = {}
        self._lock = threading.Lock()
        self._across: Results = Results(REMEMBERED)  # results of several models together

    def remember(self, key: Hashable, compute: Callable[[], Value]) -> Value:
        """``compute()`` once however many students ask at once, for a result of several models (the same for
        every student): ``key`` names the models, served ones by their version; the REMEMBERED most recent kept."""
        return self._across.once(key, lambda computation: computation.compute_here(compute)).wait()

    def __call__(self, dataset: str) -> ExplainerSet:
        served = self.manager.get(dataset)
        current = self._sets.get(dataset)
        if current is None or current.served.version != served.version:
            with self._lock:
                current = self._sets.get(dataset)
                if current is None or current.served.version != served.version:
                    swapping = current is not None
                    current = ExplainerSet(served, self._shuffled_labels_model(served), self.jobs)
                    current.warm_up()
                    self._sets[dataset] = current
                    if swapping:
                        self.after_swap()
        return current

    def _shuffled_labels_model(self, served: ServedModel) -> keras.Model | None:
        """The data randomization test's network, if there is one of the served model's architecture."""
        try:
            shuffled = self.manager.shuffled_labels_model(served.dataset)
        except ModelFileError:  # damaged: the page does without the data randomization test
            return None
        matches = shuffled is not None and architecture_of(shuffled) == architecture_of(served.model)
        return shuffled if matches else None


def new_model_notice(seen: tuple[str, int] | None, explainer_set: ExplainerSet) -> tuple[str, tuple[str, int]]:
    """The news for a student whose last answer came from an older model of the same dataset (the
    instructor's training has swapped in a new one since), and the (dataset, version) served now."""
    now = (explainer_set.served.dataset, explainer_set.served.version)
    swapped = seen is not None and seen[0] == now[0] and seen[1] != now[1]
    return ("🔄 **A newly trained model is now served to everyone.** " if swapped else ""), now
