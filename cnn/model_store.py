"""Saving and loading models safely: atomic writes, safe_mode loads, a JSON card beside each.

A save writes to a temporary file in the same folder and renames it over the old
one, so a crash or kill mid-save leaves either the old model or the new one, never
half a file; the temporary file of a killed save is removed by the next start
(``remove_leftovers``). Loads use Keras' ``safe_mode`` (no arbitrary code, no pickle).
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Callable

import keras

from cnn.model_card import ModelCard


# A save's temporary file: ".<name>.<pid of the writer>.<random>.keras" (or .json), beside the file it replaces.
LEFTOVER = re.compile(r"^\..+?(?:\.(?P<pid>\d+))?\.[A-Za-z0-9_]{8}\.(?:keras|json)$")


class ModelFileError(RuntimeError):
    """A model file is missing, corrupt or not a model of this project."""


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_leftovers(folder: Path) -> list[Path]:
    """Delete the temporary files that saves killed before their rename left in ``folder`` (those of a
    writer that is still running are its work in progress); returns what was removed."""
    removed = []
    for candidate in folder.glob(".*"):
        match = LEFTOVER.match(candidate.name)
        if match and candidate.is_file() and not (match["pid"] and process_alive(int(match["pid"]))):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary path beside ``path``, fsync it, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.{os.getpid()}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would stay on the renamed file: others could not read the model
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_model(model: keras.Model, path: str | Path, card: ModelCard | None = None) -> None:
    """Atomically save ``model`` (``.keras``) and, if given, its card as ``<path>.json``."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError("models are saved in the .keras format")
    atomic_write(path, lambda tmp: model.save(tmp))
    if card is not None:
        atomic_write(card_path(path), lambda tmp: tmp.write_text(json.dumps(card.to_dict(), indent=2) + "\n"))


def load_model(path: str | Path) -> keras.Model:
    """Load a ``.keras`` file in safe mode, or the seed notebook's legacy ``.h5``."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path.name}: no such model file")
    try:
        if path.suffix == ".keras":
            model = keras.models.load_model(path, compile=False, safe_mode=True)
        elif path.suffix == ".h5":
            model = keras.models.load_model(path, compile=False)
        else:
            raise ModelFileError(f"{path.name}: not a .keras or .h5 model file")
    except ModelFileError:
        raise
    except Exception as err:  # Keras raises many types for damaged archives (ValueError, OSError, KeyError...)
        if "safe_mode" in str(err):
            raise ModelFileError(f"{path.name}: refused as unsafe: it holds Python code (such as a Lambda layer), "
                                 "which could do anything on this server, and safe mode loads only plain layers") \
                from err
        raise ModelFileError(f"{path.name}: the file is damaged or not a Keras model ({type(err).__name__})") from err
    if tuple(model.inputs[0].shape[1:]) != (28, 28, 1) or tuple(model.outputs[0].shape[1:]) != (10,):
        raise ModelFileError(f"{path.name}: not a 28x28 -> 10 class model")
    return model


def card_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + ".json")


def load_card(model_path: str | Path) -> ModelCard | None:
    """The card saved beside a model, or None when there is none or it is unreadable or incomplete."""
    try:
        return ModelCard.from_dict(json.loads(card_path(Path(model_path)).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
