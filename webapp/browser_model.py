"""The served model as the page runs it: its layers in order, with shapes and weights, as JSON.

The page's network (webapp/static/network.js) follows this list layer by layer, so every model the
app can train (other filter counts, a third conv block) runs in the browser. Each weight is written
as the shortest decimal that reads back as the same float32, so the browser computes with exactly
the server's weights, in a file a third the size of full double precision.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

import keras
import numpy as np

from cnn.architecture import IMAGE_SHAPE
from cnn.model_manager import ServedModel
from explainers.grad_cam import NO_EVIDENCE_RATIO
from explainers.max_pool import ABSOLUTE_TIE, RELATIVE_TIE
from webapp.served import ExplainerSet

FORMAT = "cnn-demo-network/1"
# Versions count from 1 in every server process: with this per-process token, a page that outlives a
# restart does not take the new server's model 1 for the old one's.
INSTANCE = secrets.token_hex(4)
ACTIVATIONS = ("relu", "linear")


class BrowserModelError(ValueError):
    """A layer the page's network cannot run."""


@dataclass(frozen=True)
class BrowserModel:
    body: bytes  # the JSON document
    etag: str  # names this content, for the browser's conditional requests


def model_id(served: ServedModel) -> str:
    """Names one served model of this server: it changes whenever a training or a reload swaps one in. Among
    replicas, by its published name, the same in each (a page that moves to another replica keeps its model)."""
    return served.published or f"{INSTANCE}-{served.version}"


def _values(array: np.ndarray) -> list[float]:
    """Float32 values as the floats whose shortest repr is the float32's own (str of a float32)."""
    flat = np.asarray(array, np.float32).ravel()
    if not np.all(np.isfinite(flat)):
        raise BrowserModelError("the model has weights that are not finite numbers")
    return [float(str(value)) for value in flat]


def _activation(layer: keras.layers.Layer) -> str:
    name = keras.activations.serialize(layer.activation)
    if name not in ACTIVATIONS:
        raise BrowserModelError(f"layer {layer.name!r}: activation {name!r} is not one of {ACTIVATIONS}")
    return name


def _weights(layer: keras.layers.Layer) -> dict:
    kernel, *bias = layer.get_weights()
    bias = bias[0] if bias else np.zeros(kernel.shape[-1], np.float32)
    return {"activation": _activation(layer), "kernel_shape": list(kernel.shape), "kernel": _values(kernel),
            "bias": _values(bias)}


def _conv(layer: keras.layers.Conv2D) -> dict:
    if tuple(layer.strides) != (1, 1) or tuple(layer.dilation_rate) != (1, 1) or layer.groups != 1 \
            or layer.padding not in ("same", "valid") or layer.data_format != "channels_last":
        raise BrowserModelError(f"layer {layer.name!r}: only stride 1, same or valid padding, channels last")
    return {"type": "conv2d", "padding": layer.padding, **_weights(layer)}


def _pool(layer: keras.layers.MaxPooling2D) -> dict:
    if layer.padding != "valid" or layer.data_format != "channels_last":
        raise BrowserModelError(f"layer {layer.name!r}: only valid max-pooling, channels last")
    return {"type": "max_pool2d", "pool_size": list(layer.pool_size), "strides": list(layer.strides),
            "tie_tolerance": {"relative": RELATIVE_TIE, "absolute": ABSOLUTE_TIE}}  # its gradient's rule for ties


def describe_layer(layer: keras.layers.Layer) -> dict:
    """One layer as the page's network reads it: name, kind, output shape (no batch axis), parameters."""
    if isinstance(layer, keras.layers.Conv2D):
        details = _conv(layer)
    elif isinstance(layer, keras.layers.MaxPooling2D):
        details = _pool(layer)
    elif isinstance(layer, keras.layers.Flatten):
        details = {"type": "flatten"}
    elif isinstance(layer, keras.layers.Dense):
        details = {"type": "dense", **_weights(layer)}
    else:
        raise BrowserModelError(f"layer {layer.name!r} ({type(layer).__name__}) cannot run in the browser")
    return {"name": layer.name, "output_shape": list(layer.output.shape[1:]), **details}


def layer_list(model: keras.Model) -> list[dict]:
    """Every layer of ``model``, in the order the forward pass runs them."""
    return [describe_layer(layer) for layer in model.layers]


def browser_model(explainer_set: ExplainerSet) -> BrowserModel:
    """The served model's JSON for the page: the same for every student, so made once per model."""
    def encode() -> BrowserModel:
        served = explainer_set.served
        document = {"format": FORMAT, "dataset": served.dataset, "model_id": model_id(served),
                    "class_names": list(explainer_set.class_names), "input_shape": list(IMAGE_SHAPE),
                    "no_evidence_ratio": NO_EVIDENCE_RATIO, "layers": layer_list(served.model)}
        body = json.dumps(document, separators=(",", ":")).encode()
        return BrowserModel(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
    return explainer_set.remember("browser model", encode)
