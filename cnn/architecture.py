"""The deliberately tiny CNN of the seed notebook, and its "easy modifications".

Default: conv1 (8 filters 3x3) -> pool1 -> conv2 (8 filters 3x3) -> pool2 -> dense 10,
4,594 parameters. ``filters`` sets the filters per conv block; a third entry adds the
seed's optional third block ``conv3``/``pool3``.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
LOGITS_LAYER = "logits"


@dataclass(frozen=True)
class Architecture:
    filters: tuple[int, ...] = (8, 8)

    def __post_init__(self) -> None:
        object.__setattr__(self, "filters", tuple(int(f) for f in self.filters))
        if len(self.filters) not in (2, 3) or not all(1 <= f <= 64 for f in self.filters):
            raise ValueError("filters: two or three conv blocks of 1..64 filters each")

    def describe(self) -> str:
        blocks = " → ".join(f"conv{i + 1} ({f} filters 3x3, ReLU) → pool{i + 1}" for i, f in enumerate(self.filters))
        return f"28x28x1 → {blocks} → dense 10"

    def to_dict(self) -> dict:
        return {"filters": list(self.filters)}

    @classmethod
    def from_dict(cls, data: dict) -> "Architecture":
        return cls(filters=tuple(data.get("filters", (8, 8))))


def build_model(arch: Architecture = Architecture(), seed: int | None = None) -> keras.Sequential:
    """Build the CNN; the final Dense layer outputs logits (softmax is applied where shown).

    ``seed`` fixes the initial weights (and seeds Python, numpy and TF for what follows).
    """
    if seed is not None:
        keras.utils.set_random_seed(seed)
    layers: list[keras.layers.Layer] = [keras.Input(shape=IMAGE_SHAPE, name="image")]
    for i, filters in enumerate(arch.filters, start=1):
        layers += [
            keras.layers.Conv2D(filters, (3, 3), padding="same", activation="relu", name=f"conv{i}"),
            keras.layers.MaxPooling2D((2, 2), name=f"pool{i}"),
        ]
    layers += [keras.layers.Flatten(name="flatten"), keras.layers.Dense(NUM_CLASSES, name=LOGITS_LAYER)]
    return keras.Sequential(layers, name="simple_cnn")


def architecture_of(model: keras.Model) -> Architecture:
    """Read the architecture back from a (possibly loaded) model."""
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    return Architecture(filters=tuple(layer.filters for layer in convs))


def conv_layer_names(model: keras.Model) -> list[str]:
    return [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def feature_layer_names(model: keras.Model) -> list[str]:
    """The layers whose outputs are spatial feature maps (conv and pool)."""
    kinds = (keras.layers.Conv2D, keras.layers.MaxPooling2D)
    return [layer.name for layer in model.layers if isinstance(layer, kinds)]
