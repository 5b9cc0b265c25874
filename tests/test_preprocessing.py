"""Preprocessing drawings and uploads into MNIST-style 28x28 inputs."""
from __future__ import annotations

import struct
import time
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from cnn import preprocessing
from cnn.preprocessing import (
    InputImageError,
    image_to_mnist,
    load_upload,
    sketch_to_mnist,
    stroke_width,
)
from harness.strokes import render_digit, sketch_value

ALL_DIGITS = range(10)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def mnist_stroke_width(image: np.ndarray) -> float:
    """Stroke width of a 28x28 image in its own pixels, measured on a 4x enlargement."""
    enlarged = Image.fromarray(np.asarray(image, np.float32)).resize((112, 112), Image.BILINEAR)
    return stroke_width(np.asarray(enlarged)) / 4


def bounding_box(image: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero(image.any(axis=1))
    cols = np.flatnonzero(image.any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


# --- geometry: what MNIST looks like ----------------------------------------------------

@pytest.mark.parametrize("digit", ALL_DIGITS)
def test_output_is_28x28_float_white_on_black(digit):
    result = image_to_mnist(render_digit(digit, ink="black_on_white"))
    assert result.shape == (28, 28)
    assert result.dtype == np.float32
    assert result.min() >= 0.0 and result.max() == pytest.approx(1.0)
    assert result[0].max() == 0 and result[:, 0].max() == 0, "background must be black"


@pytest.mark.parametrize("digit", ALL_DIGITS)
@pytest.mark.parametrize("offset", [(0, 0), (0.2, -0.1)])
def test_centre_of_mass_is_where_mnist_puts_it(digit, offset):
    result = image_to_mnist(render_digit(digit, scale=0.5, offset=offset))
    row, col = ndimage.center_of_mass(result)
    # MNIST's digits have their centre of mass at (14, 14), to within the half pixel of a
    # whole-pixel shift (the frame's geometric centre, 13.5, is within a pixel of it). Ours
    # is placed to a quarter pixel, plus the small shift from anti-aliasing the edges.
    assert row == pytest.approx(14, abs=0.5) and col == pytest.approx(14, abs=0.5)


@pytest.mark.parametrize("digit", ALL_DIGITS)
def test_longer_side_fills_the_20px_box(digit):
    result = image_to_mnist(render_digit(digit, stroke_width=12))
    # Centring shifts by a fraction of a pixel, so the 20 px box can touch 21 pixels faintly.
    assert 19 <= max(bounding_box(result > 0)) <= 21
    assert 19 <= max(bounding_box(result >= 0.5)) <= 21


def test_a_one_keeps_its_narrow_aspect():
    height, width = bounding_box(image_to_mnist(render_digit(1, stroke_width=10)) > 0)
    assert height >= 19
    assert width <= 10


def test_a_mnist_digit_goes_through_nearly_unchanged(mnist_test):
    images = mnist_test[0][:200, :, :, 0]
    similarity = [correlation(image_to_mnist(image), image) for image in images]
    assert np.median(similarity) > 0.9


# --- invariance: same digit, different drawing ------------------------------------------

@pytest.mark.parametrize("digit", [2, 5, 7])
def test_polarity_and_transparency_give_the_same_result(digit):
    reference = image_to_mnist(render_digit(digit, ink="white_on_black"))
    for ink in ("black_on_white", "transparent"):
        result = image_to_mnist(render_digit(digit, ink=ink))
        assert np.abs(result - reference).max() < 0.05, ink


def test_coloured_strokes_are_ink_too():
    reference = image_to_mnist(render_digit(3, ink="black_on_white"))
    on_transparent = render_digit(3, ink="transparent")
    on_transparent[:, :, :3] = (220, 30, 30)  # a red pen; transparent pixels' colour is irrelevant
    blue_on_white = render_digit(3, ink="black_on_white")
    blue_on_white[blue_on_white[:, :, 0] < 128] = (20, 40, 200)
    assert correlation(image_to_mnist(on_transparent), reference) > 0.98
    assert correlation(image_to_mnist(blue_on_white), reference) > 0.98


@pytest.mark.parametrize("digit", ALL_DIGITS)
def test_stroke_width_is_normalised(digit):
    reference = image_to_mnist(render_digit(digit, canvas=400, stroke_width=8))
    for canvas in (400, 800):
        for pen in (2, 8, 25, 60):
            result = image_to_mnist(render_digit(digit, canvas=canvas, stroke_width=pen))
            assert correlation(result, reference) > 0.9, (canvas, pen)
            assert 1 / 1.5 < result.sum() / reference.sum() < 1.5, (canvas, pen)


def test_output_strokes_are_as_wide_as_mnist_strokes(mnist_test):
    mnist_width = np.median([mnist_stroke_width(image) for image in mnist_test[0][:300, :, :, 0]])
    for pen, canvas in ((2, 800), (60, 400)):
        widths = [mnist_stroke_width(image_to_mnist(render_digit(d, canvas, pen))) for d in ALL_DIGITS]
        assert abs(np.median(widths) - mnist_width) < 0.5, (pen, canvas, widths, mnist_width)


@pytest.mark.parametrize("digit", ALL_DIGITS)
def test_position_and_size_do_not_matter(digit):
    large_centred = image_to_mnist(render_digit(digit, scale=0.85, stroke_width=25))
    small_in_corner = image_to_mnist(render_digit(digit, scale=0.25, offset=(-0.3, 0.3), stroke_width=6))
    assert correlation(small_in_corner, large_centred) > 0.85


@pytest.mark.parametrize("dtype_case", ["uint16", "float01", "float255", "bool", "grey2d", "grey_hw1"])
def test_dtypes_and_layouts_give_the_same_result(dtype_case):
    rgb = render_digit(4, ink="black_on_white")
    grey = rgb[:, :, 0]
    variants = {
        "uint16": rgb.astype(np.uint16) * 257,
        "float01": rgb / 255.0,
        "float255": rgb.astype(np.float64),
        "bool": grey > 127,
        "grey2d": grey,
        "grey_hw1": grey[:, :, None],
    }
    result = image_to_mnist(variants[dtype_case])
    assert correlation(result, image_to_mnist(rgb)) > 0.98


# --- recognisability: the test digits look like MNIST digits ------------------------------

@pytest.fixture(scope="module")
def nearest_neighbours(mnist_test):
    """A 5-nearest-neighbour classifier (by correlation) over the MNIST test set."""
    images, labels = mnist_test
    flat = images.reshape(len(images), -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    flat /= np.linalg.norm(flat, axis=1, keepdims=True)

    def classify(image: np.ndarray) -> int:
        vector = image.ravel() - image.mean()
        nearest = np.argsort(flat @ (vector / np.linalg.norm(vector)))[-5:]
        return int(np.bincount(labels[nearest], minlength=10).argmax())

    return classify


@pytest.mark.parametrize("pen, canvas, ink, rotation", [
    (2, 800, "transparent", 0),
    (8, 400, "black_on_white", 8),
    (45, 400, "white_on_black", -8),
])
def test_rendered_digits_are_recognised_as_mnist_digits(nearest_neighbours, pen, canvas, ink, rotation):
    predictions = [
        nearest_neighbours(image_to_mnist(render_digit(d, canvas, pen, ink=ink, rotation_deg=rotation)))
        for d in ALL_DIGITS
    ]
    assert predictions == list(ALL_DIGITS)


# --- nothing to read ------------------------------------------------------------------

@pytest.mark.parametrize("blank", [
    np.zeros((400, 400, 3), np.uint8),
    np.full((400, 400, 3), 255, np.uint8),
    np.zeros((400, 400, 4), np.uint8),
    np.full((50, 60), 0.5),
    np.zeros((1, 1), np.uint8),
    np.zeros((0, 0, 3), np.uint8),
], ids=["black", "white", "transparent", "grey", "1x1", "0x0"])
def test_blank_images_ask_for_a_digit(blank):
    with pytest.raises(InputImageError, match="Draw a digit"):
        image_to_mnist(blank)


def test_paper_noise_is_not_a_digit():
    noise = np.random.default_rng(0).integers(-6, 7, size=(300, 300, 3))
    with pytest.raises(InputImageError, match="Draw a digit"):
        image_to_mnist((245 + noise).astype(np.uint8))


def test_noise_around_a_digit_does_not_change_it():
    clean = render_digit(6, ink="black_on_white")
    noise = np.random.default_rng(1).integers(-15, 1, size=clean.shape)
    noisy = np.clip(clean.astype(int) + noise, 0, 255).astype(np.uint8)
    assert correlation(image_to_mnist(noisy), image_to_mnist(clean)) > 0.98


def test_a_few_stray_pixels_are_not_a_digit():
    canvas = np.zeros((400, 400), np.uint8)
    canvas[[20, 300, 380], [50, 200, 10]] = 255
    with pytest.raises(InputImageError, match="Draw a digit"):
        image_to_mnist(canvas)


@pytest.mark.parametrize("pen", [3, 20])
def test_a_dot_is_too_small_to_read(pen):
    canvas = np.zeros((400, 400), np.uint8)
    canvas[200 - pen // 2:200 + (pen + 1) // 2, 200 - pen // 2:200 + (pen + 1) // 2] = 255
    with pytest.raises(InputImageError, match="too small"):
        image_to_mnist(canvas)


@pytest.mark.parametrize("shape", [(10, 10, 2), (2, 10, 10, 3), (10,)])
def test_unsupported_shapes_are_input_errors(shape):
    with pytest.raises(InputImageError, match="Unsupported"):
        image_to_mnist(np.zeros(shape, np.uint8))


# --- Gradio Sketchpad values -------------------------------------------------------

@pytest.mark.parametrize("value", [
    None,
    {"background": None, "layers": None, "composite": None},
    {"background": None, "layers": [], "composite": None},
    {"background": None, "layers": [None], "composite": np.zeros((0, 0, 4), np.uint8)},
    {"background": None, "layers": [np.zeros((300, 300, 4), np.uint8)], "composite": None},
    {"background": np.full((300, 300, 4), 255, np.uint8), "layers": [], "composite": None},
    {},
], ids=["none", "all-none", "empty-layers", "empty-composite", "transparent-layer", "white-background", "empty-dict"])
def test_untouched_sketchpad_asks_for_a_digit(value):
    with pytest.raises(InputImageError, match="Draw a digit"):
        sketch_to_mnist(value)


def test_sketchpad_value_matches_the_drawing():
    drawing = render_digit(8, ink="transparent")
    assert np.array_equal(sketch_to_mnist(sketch_value(drawing)), image_to_mnist(drawing))


def test_sketchpad_with_only_a_composite():
    drawing = render_digit(9, ink="transparent")
    assert np.array_equal(sketch_to_mnist({"composite": drawing}), image_to_mnist(drawing))


def test_sketchpad_layers_are_flattened_onto_the_background():
    reference = image_to_mnist(render_digit(2, ink="black_on_white"))
    upper_half = render_digit(2, ink="transparent")
    lower_half = upper_half.copy()
    upper_half[200:, :, 3] = 0
    lower_half[:200, :, 3] = 0
    white = np.full((400, 400, 4), 255, np.uint8)
    on_white = {"background": white, "layers": [upper_half, lower_half], "composite": None}
    on_nothing = {"background": None, "layers": [upper_half, lower_half], "composite": None}
    assert correlation(sketch_to_mnist(on_white), reference) > 0.98
    assert correlation(sketch_to_mnist(on_nothing), reference) > 0.98


def test_sketchpad_with_a_plain_array():
    drawing = render_digit(0, ink="black_on_white")
    assert np.array_equal(sketch_to_mnist(drawing), image_to_mnist(drawing))


def test_sketchpad_layers_of_different_sizes_are_an_input_error():
    value = {"background": None, "layers": [render_digit(1, 300, ink="transparent"),
                                            render_digit(1, 200, ink="transparent")]}
    with pytest.raises(InputImageError):
        sketch_to_mnist(value)


# --- uploaded files ----------------------------------------------------------------

def png_claiming_size(width: int, height: int) -> bytes:
    """A valid-looking 1-bit PNG whose header claims a size; its pixel data is empty."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def reference_three() -> np.ndarray:
    return image_to_mnist(render_digit(3, canvas=200, stroke_width=10))


def save_and_load(tmp_path, image: Image.Image, name: str, **options) -> np.ndarray:
    path = tmp_path / name
    image.save(path, **options)
    return load_upload(path)


def pen_image(digit: int = 3) -> Image.Image:
    return Image.fromarray(render_digit(digit, canvas=200, stroke_width=10)[:, :, 0])


@pytest.mark.parametrize("case", ["rgb", "rgba", "palette", "palette_transparent", "grey_alpha",
                                  "grey16", "cmyk_jpeg", "bilevel"])
def test_uploads_decode_to_the_same_digit(tmp_path, reference_three, case):
    pen = pen_image()
    transparent = Image.fromarray(render_digit(3, canvas=200, stroke_width=10, ink="transparent"))
    images = {
        "rgb": (Image.fromarray(render_digit(3, 200, 10, ink="black_on_white")), "d.png", {}),
        "rgba": (transparent, "d.png", {}),
        "palette": (pen.convert("P"), "d.png", {}),
        "palette_transparent": (pen.convert("P"), "d.png", {"transparency": 0}),
        "grey_alpha": (transparent.convert("LA"), "d.png", {}),
        "grey16": (Image.fromarray(np.asarray(pen).astype(np.uint16) * 257), "d.png", {}),
        "cmyk_jpeg": (pen.convert("RGB").convert("CMYK"), "d.jpg", {"quality": 95}),
        "bilevel": (pen.convert("1"), "d.png", {}),
    }
    image, name, options = images[case]
    pixels = save_and_load(tmp_path, image, name, **options)
    assert isinstance(pixels, np.ndarray) and pixels.shape[:2] == (200, 200)
    assert pixels.ndim == 2 or pixels.shape[2] in (3, 4)
    assert correlation(image_to_mnist(pixels), reference_three) > 0.95


def test_palette_transparency_becomes_alpha(tmp_path):
    pixels = save_and_load(tmp_path, pen_image().convert("P"), "d.png", transparency=0)
    assert pixels.shape[2] == 4 and pixels[0, 0, 3] == 0


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    ramp = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    pixels = save_and_load(tmp_path, Image.fromarray(ramp), "ramp.png")
    assert pixels.min() == 0.0 and pixels.max() == pytest.approx(1.0)
    assert np.median(pixels) == pytest.approx(0.5, abs=0.01)


def test_animated_gif_uses_the_first_frame(tmp_path, reference_three):
    frames = [pen_image(3).convert("P"), pen_image(7).convert("P")]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert correlation(image_to_mnist(load_upload(path)), reference_three) > 0.95


def test_exif_rotation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    pixels = save_and_load(tmp_path, Image.new("RGB", (40, 20), "white"), "photo.jpg", exif=exif)
    assert pixels.shape[:2] == (40, 20)


def test_large_uploads_are_reduced(tmp_path):
    pixels = save_and_load(tmp_path, Image.new("L", (3000, 1500), 255), "big.png")
    assert pixels.shape == (preprocessing.MAX_UPLOAD_SIDE // 2, preprocessing.MAX_UPLOAD_SIDE)


def test_a_1x1_image_decodes_but_holds_no_digit(tmp_path):
    pixels = save_and_load(tmp_path, Image.new("RGB", (1, 1), "white"), "dot.png")
    assert pixels.shape == (1, 1, 3)
    with pytest.raises(InputImageError):
        image_to_mnist(pixels)


def write(tmp_path, name: str, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def real_png_bytes(tmp_path) -> bytes:
    path = tmp_path / "real.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path)
    return path.read_bytes()


@pytest.mark.parametrize("case, message", [
    ("empty", "empty"),
    ("text", "not an image"),
    ("truncated_png", "not an image"),
    ("missing", "could not be opened"),
])
def test_broken_uploads_are_input_errors(tmp_path, case, message):
    paths = {
        "empty": lambda: write(tmp_path, "empty.png", b""),
        "text": lambda: write(tmp_path, "notes.png", b"this is not a picture\n" * 20),
        "truncated_png": lambda: write(tmp_path, "cut.png", real_png_bytes(tmp_path)[:6000]),
        "missing": lambda: tmp_path / "nowhere.png",
    }
    with pytest.raises(InputImageError, match=message):
        load_upload(paths[case]())


def test_files_over_the_size_limit_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(preprocessing, "MAX_UPLOAD_BYTES", 1000)
    path = write(tmp_path, "large.png", real_png_bytes(tmp_path))
    with pytest.raises(InputImageError, match="MB"):
        load_upload(path)


# 8000x8000 is under PIL's own limit (89 MP) but over ours; PIL warns from 89 MP, and
# refuses by itself from 179 MP.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("width, height", [(100_000, 100_000), (12_000, 12_000), (8_000, 8_000)])
def test_decompression_bombs_are_refused_without_decoding(tmp_path, width, height):
    path = write(tmp_path, "bomb.png", png_claiming_size(width, height))
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(InputImageError, match="too large|megapixels"):
            load_upload(path)
    finally:
        _, peak_bytes = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert time.perf_counter() - started < 1.0
    assert peak_bytes < 5 * 2**20


# --- speed ----------------------------------------------------------------------

@pytest.mark.parametrize("canvas, pen, ink", [(800, 2, "transparent"), (800, 50, "black_on_white"),
                                              (2000, 5, "white_on_black")])
def test_preprocessing_is_fast(canvas, pen, ink):
    drawing = render_digit(5, canvas=canvas, stroke_width=pen, ink=ink)
    durations = []
    for _ in range(10):
        started = time.perf_counter()
        image_to_mnist(drawing)
        durations.append(time.perf_counter() - started)
    # The best run is the least disturbed by other processes on a shared machine.
    milliseconds = min(durations) * 1000
    print(f"image_to_mnist {canvas}x{canvas} pen {pen} {ink}: {milliseconds:.1f} ms")
    assert milliseconds < 1000  # a loose bound: only catches an accidentally quadratic step
