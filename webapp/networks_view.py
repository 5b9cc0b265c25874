"""The Experiments tab's comparisons of networks: the filters of two trainings matched one to one (seeds
compared, and across datasets), and a two-block model beside a three-block one (deeper network).

The other networks are variants saved beside the served models (``ModelManager.variants``): shipped
files, only loaded, so these views work where training is off (a Space). A missing variant is a message
that says how to train it.
"""
from __future__ import annotations

import functools
import html
import threading
from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np

from cnn.architecture import Architecture, architecture_of, build_model, conv_layer_names
from cnn.datasets import DATASETS
from cnn.model_card import ModelCard
from cnn.model_manager import ModelManager, ServedModel
from cnn.model_store import load_card
from explainers import PREDICTED, FilterMatching, Regularization, match_filters
from explainers.activation_maximizer import LEARNING_RATE, STEPS
from explainers.filter_matching import KERNEL_LAYER, feature_maps
from plots import figure_to_image, kernel_grid_figure
from plots.networks import map_picture, matching_html, network_column_html
from plots.overlay import signed_rgb
from webapp.compare_view import checked_image
from webapp.filters_view import weight_pictures
from webapp.grad_cam_view import explain_image
from webapp.maximization_view import ALL_CONV, maximization
from webapp.once import Computation, Waiting, wait_all
from webapp.served import ExplainerSet, ServedExplainers, shipped_test_set

VARIANT_TITLES = {"seed1": "seed 1", "seed2": "seed 2", "conv3": "three conv blocks"}
VARIANT_RECIPES = {"seed1": "--seed 1", "seed2": "--seed 2", "conv3": "--filters 8 8 8"}  # train.py's options
DEEPER = "conv3"
MATCH_LAYERS = [("conv1: the 3x3 kernels (cosine)", "conv1"), ("conv2: the feature maps (correlation)", "conv2")]
_BUILD_LOCK = threading.Lock()


@dataclass(frozen=True)
class Network:
    """A served model (``variant`` None) or a variant saved beside it."""

    dataset: str
    variant: str | None = None

    @property
    def title(self) -> str:
        name = DATASETS[self.dataset].title
        if self.variant is None:
            return f"{name} (shipped)"
        return f"{name} {VARIANT_TITLES.get(self.variant, self.variant)}"


SEED_PAIRS: dict[str, tuple[Network, Network]] = {
    "MNIST (shipped, seed 0) vs MNIST seed 1": (Network("mnist"), Network("mnist", "seed1")),
    "MNIST (shipped, seed 0) vs MNIST seed 2": (Network("mnist"), Network("mnist", "seed2")),
    "MNIST seed 1 vs MNIST seed 2": (Network("mnist", "seed1"), Network("mnist", "seed2")),
    "MNIST vs Fashion-MNIST, both shipped (the same seed-0 start)": (Network("mnist"), Network("fashion_mnist")),
    "MNIST seed 1 vs Fashion-MNIST (different starts)": (Network("mnist", "seed1"), Network("fashion_mnist")),
}


@dataclass(frozen=True)
class Trained:
    network: Network
    model: keras.Model
    card: ModelCard | None  # None: saved without one (then its seed is unknown)

    @property
    def seed(self) -> int | None:
        return None if self.card is None else self.card.config.seed


def _missing(network: Network) -> ValueError:
    options = " ".join(filter(None, ["--dataset", network.dataset, VARIANT_RECIPES.get(network.variant),
                                     "--variant", network.variant]))
    return ValueError(f"{network.title} is not on this server. The instructor can train it with "
                      f"`python train.py {options}`.")


def load_variant(manager: ModelManager, network: Network) -> Trained:
    """A variant's saved model with its card; a message saying how to train it where there is none."""
    model = manager.variant_model(network.dataset, network.variant)
    if model is None:
        raise _missing(network)
    return Trained(network, model, load_card(manager.variant_path(network.dataset, network.variant)))


def load_network(served_explainers: ServedExplainers, manager: ModelManager, network: Network) -> Trained:
    """The served model of the dataset, or a variant."""
    if network.variant is not None:
        return load_variant(manager, network)
    served = served_explainers(network.dataset).served
    return Trained(network, served.model, served.card)


@functools.lru_cache(maxsize=8)
def initial_model(filters: tuple[int, ...], seed: int) -> keras.Model:
    """The untrained network a training of this seed started from (training builds it the same way)."""
    # build_model seeds the process's generators, then draws: two builds at once would mix their draws.
    with _BUILD_LOCK:
        return build_model(Architecture(filters), seed=seed)


def _start_of(trained: Trained) -> keras.Model | None:
    return None if trained.seed is None else initial_model(architecture_of(trained.model).filters, trained.seed)


def _pictures(model: keras.Model, layer: str, example: np.ndarray) -> list[np.ndarray]:
    """One picture per filter: conv1's kernel in signed colours, a deeper filter's map of the example."""
    if layer == KERNEL_LAYER:
        kernel = model.get_layer(layer).kernel.numpy()
        return [signed_rgb(kernel[:, :, 0, k]) for k in range(kernel.shape[-1])]
    maps = feature_maps(model, example[None, :, :, None], layer)[0]
    return [map_picture(maps[:, :, k]) for k in range(maps.shape[-1])]


def _kept_from_start(trained: Trained, start: keras.Model, layer: str) -> str:
    """How much of each filter's starting value training kept: filter k against filter k of its start."""
    kept = np.diag(match_filters(trained.model, start, layer).matrix)
    return (f"{html.escape(trained.network.title)} against its own untrained start (seed {trained.seed}, filter k "
            f"with filter k): mean <b>{kept.mean():+.2f}</b>; {int((kept >= 0.8).sum())} of {len(kept)} filters "
            f"still ≥ 0.8.")


def _facts(a: Trained, b: Trained, matching: FilterMatching, layer: str) -> list[str]:
    """The numbers that say how much of the likeness the shared (or not) starting point explains."""
    starts = _start_of(a), _start_of(b)
    if None in starts:
        return ["One of the models has no card, so its starting point is unknown."]
    before = match_filters(*starts, layer)
    same = a.seed == b.seed and architecture_of(a.model) == architecture_of(b.model)
    start_line = (f"Both started from the <b>same</b> untrained network (seed {a.seed}): before training every "
                  f"filter was its own twin ({before.twins} of {len(before.pairs)}, mean "
                  f"{before.similarity.mean():+.2f})."
                  if same else
                  f"They started from <b>different</b> untrained networks (seeds {a.seed} and {b.seed}), matched the "
                  f"same way before training: {before.twins} of {len(before.pairs)} twins, mean "
                  f"{before.similarity.mean():+.2f} (what chance gives).")
    facts = [start_line, _kept_from_start(a, starts[0], layer), _kept_from_start(b, starts[1], layer)]
    if same:
        kept_index = sum(i == j for i, j in matching.pairs)
        why = ("the likeness is largely inherited from the shared start, not found twice"
               if 2 * kept_index >= len(matching.pairs) else "training has moved most of them apart")
        facts.append(f"After training, {kept_index} of {len(matching.pairs)} pairs are still filter k with filter k: "
                     f"{why}.")
    return facts


def match_view(served_explainers: ServedExplainers, manager: ModelManager, pair: object, layer: object,
               image28: np.ndarray | None = None) -> str:
    """The chosen pair's filters matched one to one, with what their starting points explain."""
    if pair not in SEED_PAIRS:
        raise ValueError(f"Choose a pair among {list(SEED_PAIRS)}, not {pair!r}.")
    if layer not in {value for _, value in MATCH_LAYERS}:
        raise ValueError(f"Filters are matched at {[v for _, v in MATCH_LAYERS]}, not {layer!r}.")
    a, b = (load_network(served_explainers, manager, network) for network in SEED_PAIRS[pair])
    matching, facts = _matched(served_explainers, a, b, layer)
    # conv2's pictures are feature maps of an image: the student's, or else the first MNIST test image.
    example = shipped_test_set("mnist")[0][0, :, :, 0] if image28 is None else checked_image(image28)
    what = ("each filter's 3x3 kernel, red +, blue −, scaled to its own largest weight" if layer == KERNEL_LAYER
            else f"each filter's feature map of {'the first MNIST test image' if image28 is None else 'your image'}"
                 ", bright = strong")
    return matching_html(matching, _pictures(a.model, layer, example), _pictures(b.model, layer, example),
                         (a.network.title, b.network.title), what, facts)


def _matched(served_explainers: ServedExplainers, a: Trained, b: Trained, layer: str) -> tuple[FilterMatching,
                                                                                                list[str]]:
    """The two networks' filters matched, with the facts of their starts: the same for every student, so
    computed once while the served models among them stay."""
    def served_version(trained: Trained) -> int | None:
        network = trained.network
        return None if network.variant is not None else served_explainers(network.dataset).served.version

    def compute() -> tuple[FilterMatching, list[str]]:
        matching = match_filters(a.model, b.model, layer)
        return matching, _facts(a, b, matching, layer)
    key = ("matching", a.network, served_version(a), b.network, served_version(b), layer)
    return served_explainers.remember(key, compute)


# -- deeper network ----------------------------------------------------------------------------------------------
def _deeper_set(explainer_set: ExplainerSet, manager: ModelManager) -> ExplainerSet:
    """The explainers of the dataset's three-block variant, built once and kept with the served model's."""
    def build() -> ExplainerSet:
        deeper = load_variant(manager, Network(explainer_set.served.dataset, DEEPER))
        return ExplainerSet(ServedModel(deeper.network.dataset, deeper.model, deeper.card), jobs=explainer_set.jobs)
    return explainer_set.remember(("variant", DEEPER), build)


def _weight_figures(explainer_set: ExplainerSet) -> list[tuple[str, np.ndarray]]:
    """Every conv layer's weights: the Filters tab's two pictures, and the same grid for a third block."""
    conv1, conv2 = weight_pictures(explainer_set)
    deeper = [(f"{layer} weights", explainer_set.remember(("kernel grid", layer),
                                                          functools.partial(_kernel_grid, explainer_set, layer)))
              for layer in conv_layer_names(explainer_set.served.model)[2:]]
    return [("conv1 weights", conv1), ("conv2 weights", conv2)] + deeper


def _kernel_grid(explainer_set: ExplainerSet, layer: str) -> np.ndarray:
    return figure_to_image(kernel_grid_figure(*explainer_set.filters.weights(layer), layer=layer))


def _default_maximization(explainer_set: ExplainerSet) -> Computation:
    """The Activation Maximization tab's default picture of every conv filter (a long job, kept with the model)."""
    r = Regularization()
    return maximization(explainer_set, ALL_CONV, "all", STEPS, LEARNING_RATE, r.l2_decay, r.jitter, r.blur_every,
                        r.total_variation, 0)


def _card_facts(explainer_set: ExplainerSet) -> str:
    model, card = explainer_set.served.model, explainer_set.served.card
    accuracy = "test accuracy unknown (no card)" if card is None else (
        f"test accuracy <b>{card.test_accuracy:.2%}</b> on 10,000 test images, trained {card.config.epochs} "
        f"epoch{'s' if card.config.epochs != 1 else ''}")
    return (f"{html.escape(architecture_of(model).describe())}; {model.count_params():,} parameters; {accuracy}.")


def _column(explainer_set: ExplainerSet, title: str, image: np.ndarray, synthesized: str) -> str:
    explanation = explain_image(explainer_set, image, PREDICTED, "Grad-CAM")
    layer = conv_layer_names(explainer_set.served.model)[-1]
    size = explainer_set.served.model.get_layer(layer).output.shape[1]
    caption = (f"at <b>{layer}</b> ({size}x{size} maps)<br>"
               + html.escape(explanation.message).replace("**", ""))  # the tab's markdown, as plain text
    return network_column_html(title, _card_facts(explainer_set), _weight_figures(explainer_set), synthesized,
                               explanation.overlay, caption)


def deeper_network(explainer_set: ExplainerSet, manager: ModelManager, image28: np.ndarray | None,
                   on_wait: Callable[[Waiting], None] | None = None) -> tuple[str, str]:
    """The served two-block model and the three-block variant side by side (HTML, one column each). Their
    synthesized images are long jobs, computed once per model; ``on_wait`` hears about them meanwhile."""
    image = checked_image(image28)
    columns = {"Two conv blocks (served)": explainer_set,
               "Three conv blocks (the conv3 variant)": _deeper_set(explainer_set, manager)}
    pictures = wait_all([_default_maximization(s) for s in columns.values()], on_wait)
    return tuple(_column(s, title, image, picture) for (title, s), picture in zip(columns.items(), pictures))
