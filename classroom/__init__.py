"""The class: its storage (``store``), the instructor's key and the classes' tokens (``keys``), and the rules
of a class (``classes``): who may open, send, read the wall, hide, withdraw and end, and within what limits.

Beside ``cnn/`` and below ``webapp/``: no Gradio, no web server, no model. The prediction of a drawing is
computed by a callable the server gives (the served MNIST model), so the rules are tested without TensorFlow.
"""
