"""What this server allows: decided once at start-up by the instructor, never by a request.

Training replaces the model that every student sees, so it is an instructor action:
allowed by default on a local server, refused on a public share link or a Hugging Face
Space unless the instructor started the app with --allow-training.
"""
from __future__ import annotations

import os
from dataclasses import dataclass


class NotAllowedError(PermissionError):
    """A request for something the instructor has not enabled on this server."""


@dataclass(frozen=True)
class ServerPolicy:
    allow_training: bool

    @classmethod
    def decide(cls, share: bool, allow_training: bool) -> "ServerPolicy":
        on_spaces = os.environ.get("SYSTEM") == "spaces"
        return cls(allow_training=allow_training or not (share or on_spaces))

    def require_training(self) -> None:
        if not self.allow_training:
            raise NotAllowedError(
                "Training and restoring models are turned off on this server: they change the model "
                "every student sees. The instructor can enable them by starting the app with --allow-training."
            )
