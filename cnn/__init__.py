"""The CNN's lifecycle: datasets and their IDX files, the architecture, augmentation, training (here
or in a low-priority worker process), evaluation, the model files and the ``ModelManager`` that serves
them, and the preprocessing that turns a drawing into the model's 28x28 input.

The explanation methods (``explainers/``) use this package; it never uses them. Import what you need
from its modules (``from cnn.model_manager import ModelManager``): nothing is imported here, so that
the training worker (``python -m cnn.training_worker``) can lower its priority before TensorFlow loads.

Importing any module of the package first runs this file, the one place that sets the environment
TensorFlow and Keras read once, when they load.
"""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # Keras 3 has several; the explainers call TensorFlow ops
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up notices are not for students
