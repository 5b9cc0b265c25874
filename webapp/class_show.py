"""What the instructor shows everyone (the class's rules and storage: classroom/; the news: class_events.py).

The instructor picks an image on the instructor's page: a drawing on the wall, a test image, an upload, or
the image Activation Maximization synthesizes for a class; or gives one through the API. The server finds
the image itself from that choice (the drawing's stored pixels, the shipped test image, the upload read as
the Grad-CAM tab reads one, the synthesized image computed here), never from pixels a page sends, and the
class's store keeps it. Every student's page gets it as 784 numbers, with the target class and the method,
and its own network computes the views: the server sends no picture.
"""
from __future__ import annotations

import numpy as np

from classroom.classes import CLASS_DATASET, DIGITS, Classroom, ClassRefused, Source
from classroom.store import ShownImage
from cnn.architecture import LOGITS_LAYER
from cnn.preprocessing import InputImageError, NothingToReadError, image_to_mnist, load_upload
from explainers.activation_maximizer import STEPS
from explainers.attribution import check_class
from webapp.maximization_view import SECONDS_PER_STEP
from webapp.once import Job
from webapp.served import ExplainerSet, ServedExplainers

# The instructor page's choices of what to show, as its radio names them.
CHOICES = {"drawing": "the drawing clicked on the wall", "test": "a test image", "upload": "an upload",
           "synthesized": "the image Activation Maximization synthesizes for a class"}


def pixel_values(image28: np.ndarray) -> list[float]:
    """784 float32 values as the shortest decimals that read back as the same float32 (what the page computes
    with is then exactly what the server stored)."""
    return [float(str(value)) for value in np.asarray(image28, np.float32).ravel()]


def shown_answer(shown: ShownImage | None) -> dict | None:
    """The API's ``/class_shown``: the image, the target class and the method; None when nothing is shown."""
    if shown is None:
        return None
    return {"image": pixel_values(shown.image), "target": shown.target, "method": shown.method}


def source_of(shown: ShownImage) -> Source:
    return Source(shown.source, shown.source_number, shown.source_label)


def source_words(source: Source) -> str:
    """Where a shown image comes from, in the students' words (digits and fixed words only)."""
    number, label = source.number, source.label
    return {"drawing": f"drawing {number} of the class wall, meant as a {label}",
            "test": f"MNIST test image #{number}, labelled {label}",
            "upload": "a picture the instructor uploaded",
            "synthesized": f"the image Activation Maximization synthesizes for class {number}",
            }.get(source.kind, "an image the instructor chose")


def shown_news(classroom: Classroom, code: str, version: int) -> dict:
    """What the students' stream says is shown: the API's answer, its version and its source in words, or
    ``{"shown": version, "image": None}`` when nothing is (``version``: as polled, if the store has no newer)."""
    shown = classroom.shown(code)
    if shown is None:
        return {"shown": version, "image": None}
    return {"shown": shown.version, **shown_answer(shown), "source": source_words(source_of(shown)),
            "dataset": CLASS_DATASET}


def _test_image(served_explainers: ServedExplainers, index: object) -> tuple[np.ndarray, Source]:
    images, labels = served_explainers(CLASS_DATASET).test_set
    if isinstance(index, float) and index.is_integer():
        index = int(index)  # a number box's value
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(labels):
        raise ClassRefused(f"A test image is numbered from 0 to {len(labels) - 1}.")
    return images[index, :, :, 0], Source("test", index, int(labels[index]))


def _upload(path: object) -> tuple[np.ndarray, Source]:
    if not isinstance(path, str) or not path:
        raise ClassRefused("Upload a picture of a digit first.")
    try:
        return image_to_mnist(load_upload(path)), Source("upload")
    except NothingToReadError:
        raise ClassRefused("This picture has nothing to read: it is blank, or its marks are too small.") from None
    except InputImageError as err:
        raise ClassRefused(str(err)) from None


def synthesized_classes(explainer_set: ExplainerSet) -> np.ndarray:
    """The long job: the image Activation Maximization synthesizes for each class, at the tab's default settings."""
    return explainer_set.maximizer.maximize(LOGITS_LAYER).images


def _synthesized(served_explainers: ServedExplainers, digit: object) -> tuple[np.ndarray, Source]:
    """The image of the Activation Maximization tab's logits layer for class ``digit``, default settings: synthesized
    once per model for every class, in the long jobs' idle-priority workers (seconds of a core)."""
    try:
        digit = check_class(int(digit))
    except (TypeError, ValueError):
        raise ClassRefused("Choose the class (0 to 9) whose synthesized image to show.") from None
    job = Job(synthesized_classes, (), "synthesizing the image each class most wants to see",
              DIGITS * STEPS * SECONDS_PER_STEP)
    images = served_explainers(CLASS_DATASET).long_job(("synthesized classes",), job).wait()
    return np.asarray(images[digit], np.float32), Source("synthesized", digit)


def chosen_image(classroom: Classroom, served_explainers: ServedExplainers, code: object, token: object,
                 number: object, choice: object, test_index: object, upload: object,
                 digit: object) -> tuple[np.ndarray, Source]:
    """The image the instructor's page chose (``choice``, a key of CHOICES) and where it comes from; ``number``:
    the drawing clicked on the wall. Only with the class's token: nothing is computed for a page without it."""
    classroom.authorized(code, token)
    if choice == "drawing":
        if number is None:
            raise ClassRefused("Click a drawing on the wall first.")
        drawing, pixels = classroom.drawing(code, token, number)
        return pixels, Source("drawing", drawing.number, drawing.meant)
    if choice == "test":
        return _test_image(served_explainers, test_index)
    if choice == "upload":
        return _upload(upload)
    if choice == "synthesized":
        return _synthesized(served_explainers, digit)
    raise ClassRefused(f"Show one of: {', '.join(CHOICES.values())}.")
