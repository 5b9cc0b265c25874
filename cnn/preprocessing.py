"""Turn a drawing or an uploaded picture into a 28x28 input made the way MNIST was made.

LeCun et al. built MNIST from scanned digits in three steps, and a model trained on it
only reads digits that went through the same steps:
1. the digit was scaled, keeping its aspect ratio, so that its longer side is 20 px
   (with anti-aliasing, so the edges are grey);
2. it was placed in a 28x28 frame so that its centre of mass sits at the centre;
3. the ink is white (1.0) on a black (0.0) background.

A student's drawing differs from a scan in one more way: a mouse draws 1-3 px lines on a
large canvas, a finger 30-60 px ones, while MNIST strokes are about 2.3 px wide in the
28x28 image. So before scaling we thicken or thin the strokes toward that width.

The steps, one function each: find the ink whatever its polarity (_ink_map), crop to it,
bring the crop to a working size (_to_work_size), normalise the stroke width
(_normalise_stroke_width), then scale and centre in one resampling (_resize_into_frame).

Only numpy, scipy and PIL are used here, so the preprocessing can be tested and taught
without the model.
"""
from __future__ import annotations

import contextlib
import math
import re
from pathlib import Path
from typing import IO, Any, Iterator

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage

# MNIST's geometry: the digit's longer side is 20 px, in a 28x28 frame with its centre
# of mass at pixel (14, 14): measured on the MNIST test set, 13.99 +- 0.29 on each axis
# (LeCun shifted by whole pixels), not the frame's geometric centre 13.5.
DIGIT_BOX = 20
FRAME = 28
MNIST_CENTRE = 14.0

# MNIST strokes are about 2.3 px wide for a 20 px digit (the median on the test set,
# measured with stroke_width below on 4x enlarged images).
TARGET_STROKE_FRACTION = 2.3 / DIGIT_BOX

# Strokes are thickened or thinned at 2x to 4x the final size: fine enough to keep the
# shape, small enough that the morphology takes a millisecond even for a 4000 px photo.
WORK_SIZE = 4 * DIGIT_BOX

# Ink is "distance from the background", 0..1. Below MIN_CONTRAST anywhere the canvas
# counts as empty; below NOISE_FLOOR (a fraction of the darkest stroke) it is treated as
# paper grain or JPEG noise and dropped, so it does not widen the digit's bounding box.
MIN_CONTRAST = 0.15
NOISE_FLOOR = 0.2
# A pixel belongs to a stroke when its ink is at least half the full value; a drawing
# with fewer stroke pixels than this holds no digit (a stray click, a speck of dust).
STROKE_LEVEL = 0.5
MIN_INK_PIXELS = 5
# A mark whose extent is under 2.5 stroke widths is a dot or a blob, not a digit
# (a round dot measures 2 widths across).
MIN_EXTENT_IN_WIDTHS = 2.5
# Thinning never removes more than half a stroke's width, so parts drawn thinner than
# average survive.
MAX_THINNING = 0.5

# Every picture a client sends is decoded only when it is small enough to handle in bounded
# memory, checked from its header first: a 100 KB PNG can claim 12000x12000 pixels (576 MB as
# RGBA, gigabytes once converted). A JPEG is decoded at a reduced scale (PIL's draft), so a
# phone photo of any size stays small; other formats must fit MAX_UPLOAD_PIXELS as they are.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_PIXELS = 16_000_000
# A sketch is a canvas: 400x400 on the page, 5 megapixels is room for any screen's canvas.
MAX_SKETCH_PIXELS = 5_000_000
# Decoded uploads are reduced to this longer side: plenty for a 20 px digit, and it
# bounds the memory of every later step.
MAX_UPLOAD_SIDE = 1024
# Decoders elsewhere in the process (the web framework's) refuse anything beyond twice this.
Image.MAX_IMAGE_PIXELS = MAX_UPLOAD_PIXELS


class InputImageError(ValueError):
    """A problem with the image the user gave, worded so it can be shown to them."""


class NothingToReadError(InputImageError):
    """The image holds no digit to read: blank, nearly blank, or its marks too small (worded for a canvas)."""


# ---------------------------------------------------------------------------
# image -> 28x28
# ---------------------------------------------------------------------------

def image_to_mnist(image: np.ndarray) -> np.ndarray:
    """Preprocess a grey (HxW), RGB (HxWx3) or RGBA (HxWx4) image like MNIST.

    Returns float32 (28, 28) in [0, 1], white ink on black, maximum 1.0.
    Raises InputImageError when there is no digit to read.
    """
    ink = _ink_map(_to_unit_float(image))
    strokes = _to_work_size(_crop_to_ink(ink))
    strokes = _normalise_stroke_width(strokes)
    return _resize_into_frame(_crop_to_ink(strokes))


def _to_unit_float(image: Any) -> np.ndarray:
    """Check the shape and scale any dtype to float32 in [0, 1], HxWxC with C in 1, 3, 4."""
    pixels = np.asarray(image)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 3, 4):
        raise InputImageError(f"Unsupported image shape {np.shape(image)}: expected grey, RGB or RGBA.")
    if pixels.size == 0:
        raise NothingToReadError("Draw a digit first: the image is empty.")
    if pixels.dtype.kind == "f":
        pixels = np.nan_to_num(pixels.astype(np.float32))  # a float image may have holes
    # The data tell how it was stored: 0..1 (floats, bools), 0..255 (8 bit) or 0..65535 (16 bit).
    peak = float(pixels.max())  # in the stored type: a sketch's 8-bit pixels are read once, not converted first
    full_scale = next((scale for scale in (1.0, 255.0, 65535.0) if peak <= scale), peak)
    unit = pixels.astype(np.float32) * np.float32(1 / full_scale)
    if pixels.dtype.kind in "ub":
        return unit  # unsigned and within full scale: already in [0, 1]
    return np.clip(unit, 0.0, 1.0, out=unit)


def _border(channel: np.ndarray) -> np.ndarray:
    """The pixels on the image's edge, where a drawing has only background."""
    return np.concatenate([channel[0], channel[-1], channel[:, 0], channel[:, -1]])


def _ink_map(pixels: np.ndarray) -> np.ndarray:
    """How much ink each pixel holds, 0..1, whatever the colours and polarity."""
    channels = pixels.shape[2]
    alpha = pixels[:, :, 3] if channels == 4 else np.ones(pixels.shape[:2], np.float32)
    if np.median(_border(alpha)) < 0.5:
        # Strokes on a transparent canvas: the ink is what is opaque, whatever its colour.
        ink = alpha
    else:
        # ITU-R 601 luma weights, the ones PIL uses for "L".
        luma = pixels[:, :, 0] if channels == 1 else pixels[:, :, :3] @ np.float32([0.299, 0.587, 0.114])
        background = float(np.median(_border(luma)))
        luma = alpha * luma + (1 - alpha) * background  # see-through pixels show the background
        # Black on white or white on black: ink is how far a pixel is from the background.
        ink = np.abs(luma - background) / max(background, 1 - background, 1e-6)
    return _drop_noise(ink)


def _drop_noise(ink: np.ndarray) -> np.ndarray:
    """Remove faint noise and stretch the strokes to full ink; reject a (nearly) empty canvas."""
    peak = float(ink.max())
    if peak < MIN_CONTRAST:
        raise NothingToReadError("Draw a digit first: the canvas is empty.")
    floor = NOISE_FLOOR * peak
    ink = np.clip((ink - floor) / (peak - floor), 0.0, 1.0).astype(np.float32)
    if np.count_nonzero(ink >= STROKE_LEVEL) < MIN_INK_PIXELS:
        raise NothingToReadError("Draw a digit first: the canvas is almost empty.")
    return ink


def _crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """The smallest rectangle holding every inked pixel."""
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    return ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _to_work_size(ink: np.ndarray) -> np.ndarray:
    """Resize a crop by a whole factor so that its longer side is WORK_SIZE/2..WORK_SIZE.

    Shrinking keeps the *maximum* of each block, not the mean: a 2 px mouse line on an
    800 px canvas would otherwise fade to a faint grey and lose its connections.
    Enlarging repeats pixels, so the final resampling still sees the original's pixels.
    """
    longer = max(ink.shape)
    if longer <= WORK_SIZE:
        factor = WORK_SIZE // longer
        return np.repeat(np.repeat(ink, factor, axis=0), factor, axis=1)
    factor = math.ceil(longer / WORK_SIZE)
    height, width = (math.ceil(side / factor) * factor for side in ink.shape)  # whole blocks
    padded = np.pad(ink, ((0, height - ink.shape[0]), (0, width - ink.shape[1])))
    # The maximum of each factor x factor block: over each block's rows, then over its columns (the same
    # values as one max over both, at a third of the time: numpy reduces contiguous runs faster).
    block_rows = padded.reshape(height // factor, factor, width).max(axis=1)
    return block_rows.reshape(height // factor, width // factor, factor).max(axis=2)


def stroke_width(ink: np.ndarray) -> float:
    """Estimate the average stroke width in pixels as 2 * area / perimeter.

    A stroke of width w and length L has area w*L and perimeter about 2*L. Counting edge
    crossings along rows and columns measures a slanted edge too long (by |cos| + |sin|);
    the factor pi/4 corrects that on average over all directions.
    """
    strokes = np.pad(ink >= STROKE_LEVEL, 1).astype(np.int8)
    crossings = np.abs(np.diff(strokes, axis=0)).sum() + np.abs(np.diff(strokes, axis=1)).sum()
    return 2 * float(strokes.sum()) / max(crossings * math.pi / 4, 1.0)


def _disk(diameter: int) -> np.ndarray:
    """A round footprint, so that dilation and erosion grow strokes equally in every direction."""
    radius = (diameter - 1) / 2
    y, x = np.ogrid[:diameter, :diameter]
    return (x - radius) ** 2 + (y - radius) ** 2 <= radius ** 2 + 0.5


def _normalise_stroke_width(ink: np.ndarray) -> np.ndarray:
    """Thicken thin strokes and thin thick ones toward MNIST's width, relative to digit size."""
    width = stroke_width(ink)
    extent = max(ink.shape)
    if extent < MIN_EXTENT_IN_WIDTHS * width:
        raise NothingToReadError("That is too small to read: draw a bigger digit.")
    # The box will include the new strokes: target = f * (skeleton + target), where the
    # skeleton (the pen's path) spans extent - width.
    target = TARGET_STROKE_FRACTION * (extent - width) / (1 - TARGET_STROKE_FRACTION)
    change = round(target - width)
    if change > 0:
        # Dilating by a disk of diameter d widens a stroke by d - 1; pad so nothing is cut off.
        margin = change // 2 + 1
        return ndimage.grey_dilation(np.pad(ink, margin), footprint=_disk(change + 1))
    thinning = min(-change, int(MAX_THINNING * width))
    if thinning < 1:
        return ink
    thinned = ndimage.grey_erosion(ink, footprint=_disk(thinning + 1), mode="constant", cval=0.0)
    return thinned if thinned.max() >= STROKE_LEVEL else ink  # never erase the whole digit


def _resize_into_frame(digit: np.ndarray) -> np.ndarray:
    """Scale the digit so its longer side is DIGIT_BOX px and place it in the 28x28 frame
    with its centre of mass at MNIST_CENTRE, in a single anti-aliased resampling.

    PIL's resize can read any rectangle of the source, even at fractional coordinates, so
    the sub-pixel part of the centring costs no extra blur: strokes stay as crisp as
    MNIST's, and one digit drawn twice never lands a whole pixel apart.
    """
    scale = DIGIT_BOX / max(digit.shape)  # frame pixels per source pixel
    span = FRAME / scale  # source pixels the frame covers
    # PIL measures positions from pixel corners, so a pixel's centre is at index + 0.5.
    centre_of_mass = np.add(ndimage.center_of_mass(digit), 0.5)
    corner = centre_of_mass - (MNIST_CENTRE + 0.5) / scale  # source point at the frame's corner
    corner = np.clip(corner, np.subtract(digit.shape, span), 0)  # keep the whole digit in the frame
    margin = math.ceil(span)  # the frame may reach past the digit's edges: pad with background
    top, left = corner + margin
    source = Image.fromarray(np.pad(digit, margin).astype(np.float32))  # mode "F": no rounding to 8 bit
    # BOX averages the source pixels under each frame pixel: area anti-aliasing, no ringing.
    frame = np.asarray(source.resize((FRAME, FRAME), Image.BOX, box=(left, top, left + span, top + span)))
    return np.clip(frame / frame.max(), 0.0, 1.0)


# ---------------------------------------------------------------------------
# Gradio Sketchpad values
# ---------------------------------------------------------------------------

def sketch_to_mnist(value: Any) -> np.ndarray:
    """Preprocess the value of a ``gr.Sketchpad`` (an ImageEditor) like MNIST.

    The value is None, an image array, or a dict with "background", "layers" and
    "composite", any of which may be None (an untouched canvas sends only Nones).
    """
    image = _sketch_image(value)
    if image is None:
        raise NothingToReadError("Draw a digit first: the canvas is empty.")
    return image_to_mnist(image)


def _present(array: Any) -> np.ndarray | None:
    """The array as numpy, or None when it is missing or has no pixels."""
    if array is None:
        return None
    array = np.asarray(array)
    return array if array.size else None


def _sketch_image(value: Any) -> np.ndarray | None:
    """The picture a Sketchpad value shows: its composite, or its layers flattened."""
    if not isinstance(value, dict):
        return _present(value)
    composite = _present(value.get("composite"))
    if composite is not None:
        return composite
    images = [_present(value.get("background"))] + [_present(layer) for layer in value.get("layers") or []]
    images = [image for image in images if image is not None]
    if not images:
        return None
    if any(image.shape[:2] != images[0].shape[:2] for image in images):
        raise InputImageError("The sketch's layers have different sizes; clear the canvas and draw again.")
    return _alpha_over(images)


def _as_rgba(image: np.ndarray) -> np.ndarray:
    """Float RGBA in [0, 1]; grey and RGB images are opaque."""
    pixels = _to_unit_float(image)
    if pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    if pixels.shape[2] == 3:
        pixels = np.concatenate([pixels, np.ones_like(pixels[:, :, :1])], axis=2)
    return pixels


def _alpha_over(images: list[np.ndarray]) -> np.ndarray:
    """Stack images bottom to top, as a browser draws layers (Porter-Duff "over")."""
    # Premultiplied colour makes "over" a single line: result = top + (1 - top_alpha) * below.
    result = np.zeros(images[0].shape[:2] + (4,), np.float32)
    for image in images:
        layer = _as_rgba(image)
        alpha = layer[:, :, 3:]
        result = np.concatenate([layer[:, :, :3] * alpha, alpha], axis=2) + (1 - alpha) * result
    colour = result[:, :, :3] / np.maximum(result[:, :, 3:], 1e-6)
    return np.concatenate([colour, result[:, :, 3:]], axis=2)


# ---------------------------------------------------------------------------
# Uploaded files
# ---------------------------------------------------------------------------

def load_upload(path: str | Path) -> np.ndarray:
    """Decode an uploaded image file safely into a grey, RGB or RGBA array.

    Files over MAX_UPLOAD_BYTES and images over MAX_UPLOAD_PIXELS are refused before
    their pixels are decoded. Every failure is an InputImageError with a readable reason.
    """
    path = Path(path)
    _check_file_size(path)
    with _opened(path) as image:
        return _to_array(image)


@contextlib.contextmanager
def _opened(source: str | Path | IO[bytes], max_pixels: int = MAX_UPLOAD_PIXELS) -> Iterator[Image.Image]:
    """The image, opened but not decoded, once its header says decoding it is affordable;
    PIL's errors (and any other) as an InputImageError that names no server path."""
    try:
        with Image.open(source) as image:
            if image.format == "JPEG":
                image.draft(image.mode, (MAX_UPLOAD_SIDE, MAX_UPLOAD_SIDE))  # decode at 1/2, 1/4 or 1/8 scale
            _check_pixel_count(image, max_pixels)
            yield image
    except InputImageError:
        raise
    except Image.DecompressionBombError as err:
        raise InputImageError(f"That image is too large to open safely ({_short_reason(err)}).") from err
    except Exception as err:  # noqa: BLE001 -- PIL's decoders raise many types on bad files
        raise InputImageError(f"That file is not an image we can read ({_short_reason(err)}).") from err


def check_encoded_image(source: str | Path | IO[bytes], max_pixels: int = MAX_SKETCH_PIXELS) -> None:
    """Refuse an encoded picture (a file or its bytes) that is not an image, or whose header promises
    more than ``max_pixels``, before anyone decodes it."""
    with _opened(source, max_pixels):
        pass


def _check_file_size(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as err:
        raise InputImageError(f"The uploaded file could not be opened ({_short_reason(err)}).") from err
    if size == 0:
        raise InputImageError("That file is empty, so it is not an image we can read.")
    if size > MAX_UPLOAD_BYTES:
        raise InputImageError(
            f"That file is {size / 2**20:.1f} MB; please upload an image under {MAX_UPLOAD_BYTES // 2**20} MB."
        )


def _check_pixel_count(image: Image.Image, max_pixels: int) -> None:
    """Refuse huge images from the header alone: a tiny compressed file can expand to gigabytes."""
    width, height = image.size
    if width * height > max_pixels:
        raise InputImageError(
            f"That image is {width}x{height} pixels; please send one under {max_pixels / 1e6:g} megapixels."
        )


def _to_array(image: Image.Image) -> np.ndarray:
    """Decode the first frame as grey, RGB, RGBA or (for 16-bit images) float grey in 0..1."""
    image.seek(0)  # animated GIF/PNG: the first frame
    image = ImageOps.exif_transpose(image)  # phone photos are stored sideways with a rotation tag
    image = image.convert(_array_mode(image))
    image.thumbnail((MAX_UPLOAD_SIDE, MAX_UPLOAD_SIDE))  # keeps the aspect ratio; only shrinks
    if image.mode == "F":
        return np.asarray(image) / 65535.0
    return np.array(image)


def _array_mode(image: Image.Image) -> str:
    """The PIL mode to decode into: one image_to_mnist reads, losing no ink."""
    if image.mode.startswith("I"):
        return "F"  # 16-bit grey ("I;16", or "I" holding 0..65535): keep the precision
    if image.mode in ("L", "RGB", "RGBA"):
        return image.mode
    # Palette, grey+alpha, CMYK, 1-bit...: keep transparency if there is any.
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    return "RGBA" if has_alpha else "RGB"


def _short_reason(err: Exception) -> str:
    """The first line of an exception message, shortened for display; a file's folder is the server's
    business (PIL names the temporary file it could not read), so only its name is kept."""
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    text = re.sub(r"(?:[A-Za-z]:)?[\\/][^\s'\"]*[\\/]", "", text)
    return text if len(text) <= 80 else text[:77] + "..."
