"""Scoring a model on a labelled set: predictions, accuracy, confusion matrix."""
from __future__ import annotations

import keras
import numpy as np

from cnn.architecture import NUM_CLASSES


def predict_logits(model: keras.Model, images: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """Logits (N, 10) for float images (N, 28, 28, 1), in batches to bound memory."""
    chunks = [np.asarray(model(images[i:i + batch_size], training=False))
              for i in range(0, len(images), batch_size)]
    return np.concatenate(chunks) if chunks else np.zeros((0, NUM_CLASSES), np.float32)


def accuracy(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(predict_logits(model, images).argmax(axis=1) == labels))


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """counts[true, predicted]."""
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (labels, predicted), 1)
    return counts
