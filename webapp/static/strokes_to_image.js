// A drawing's strokes -> the 28x28 image the model reads, made the way cnn/preprocessing.py makes one
// from a picture (the way MNIST was made), but from the pen's path instead of its pixels:
//   1. the bounding box of the path; the digit is scaled so that its longer side, strokes included, is
//      DIGIT_BOX (20) px;
//   2. the strokes are drawn at MNIST's stroke width (2.3 px of 20), whatever width the student drew:
//      the server thickens or thins a picture's strokes toward that width, here they are drawn at it;
//   3. anti-aliased, as the server's BOX resampling is: each pixel takes the share of it the pen covers,
//      from its distance to the pen's path (exact for an edge along the pixels, close for any other);
//   4. moved so that its centre of mass sits at pixel (14, 14), keeping the whole digit in the frame;
//   5. white ink on black, scaled so that the darkest pixel is 1.
// The geometry (sizes, widths, centre) comes from the server's own constants (ui/live_network.py).

// A drawing whose path spans less than this fraction of the canvas is a dot or a speck, not a digit
// (the server refuses such a picture as "too small to read").
const MIN_EXTENT_FRACTION = 0.02;
// The centre of mass is measured on the drawn image, the digit moved, and drawn again: the coverage
// varies smoothly with the digit's position, so one pass brings it within a twentieth of a pixel.
const CENTRING_PASSES = 1;
// A pen sends a point every few screen pixels: in the 28x28 frame they are a fraction of a pixel apart.
// Points closer than this to the last one kept are dropped: a curve through the rest strays from the
// pen's by a hundredth of a pixel, and the frame costs a fraction of the time.
const MIN_SEGMENT = 0.5;

const clamp = (value, low, high) => Math.min(Math.max(value, low), high);

// Lowers each pixel's squared distance to the pen's path by the segment a-b (with round ends, so
// strokes join smoothly and a one-point stroke is a dot); only pixels within ``reach`` can change.
function nearSegment(distances, frame, [ax, ay], [bx, by], reach) {
  const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - reach));
  const x1 = Math.min(frame - 1, Math.ceil(Math.max(ax, bx) + reach));
  const y0 = Math.max(0, Math.floor(Math.min(ay, by) - reach));
  const y1 = Math.min(frame - 1, Math.ceil(Math.max(ay, by) + reach));
  const dx = bx - ax;
  const dy = by - ay;
  const length2 = dx * dx + dy * dy;
  for (let y = y0; y <= y1; y++) {
    const py = y + 0.5; // pixel centres, in corner coordinates
    for (let x = x0; x <= x1; x++) {
      const px = x + 0.5;
      const t = length2 > 0 ? clamp(((px - ax) * dx + (py - ay) * dy) / length2, 0, 1) : 0;
      const ex = ax + t * dx - px;
      const ey = ay + t * dy - py;
      const pixel = y * frame + x;
      distances[pixel] = Math.min(distances[pixel], ex * ex + ey * ey);
    }
  }
}

// The points of a stroke (in frame pixels) at least MIN_SEGMENT apart, its first and last kept.
function thinned(stroke) {
  const kept = [stroke[0]];
  for (let i = 1; i < stroke.length; i++) {
    const [x, y] = stroke[i];
    const [lastX, lastY] = kept[kept.length - 1];
    if (Math.hypot(x - lastX, y - lastY) >= MIN_SEGMENT || i === stroke.length - 1) kept.push(stroke[i]);
  }
  return kept;
}

// The strokes (in frame pixels) drawn with a round pen of ``radius``: a pixel whose centre is d from the
// path is covered by radius + 1/2 - d, clamped to [0, 1], as a pixel-wide box over the pen's edge is.
function drawFrame(strokes, radius, frame) {
  const distances = new Float64Array(frame * frame).fill(Infinity);
  const reach = radius + 0.5;
  for (const stroke of strokes.map(thinned)) {
    if (stroke.length === 1) nearSegment(distances, frame, stroke[0], stroke[0], reach);
    for (let i = 1; i < stroke.length; i++) nearSegment(distances, frame, stroke[i - 1], stroke[i], reach);
  }
  return distances.map((distance2) => clamp(reach - Math.sqrt(distance2), 0, 1));
}

// Centre of mass in corner coordinates (pixel i spans [i, i + 1]), as the server measures it.
function centreOfMass(image, frame) {
  let mass = 0;
  let sumX = 0;
  let sumY = 0;
  for (let y = 0; y < frame; y++) {
    for (let x = 0; x < frame; x++) {
      const value = image[y * frame + x];
      mass += value;
      sumX += (x + 0.5) * value;
      sumY += (y + 0.5) * value;
    }
  }
  return [sumX / mass, sumY / mass];
}

function bounds(strokes) {
  const xs = strokes.flat().map(([x]) => x);
  const ys = strokes.flat().map(([, y]) => y);
  return { left: Math.min(...xs), top: Math.min(...ys), width: Math.max(...xs) - Math.min(...xs),
    height: Math.max(...ys) - Math.min(...ys) };
}

/** strokes: [[[x, y], ...], ...] in pixels of a width x height canvas -> 784 numbers in [0, 1], row-major,
 * white ink on black; all zero when there is no digit to read (nothing drawn, or only a dot). */
export function strokesToImage(strokes, width, height, geometry) {
  const { frame, digit_box: digitBox, centre, stroke_fraction: strokeFraction } = geometry;
  const empty = new Float64Array(frame * frame);
  // Points beyond the canvas (the pen left it while drawing) are where its edge is, as in a picture of it.
  const onCanvas = strokes
    .map((stroke) => stroke.map(([x, y]) => [clamp(x, 0, width), clamp(y, 0, height)]))
    .filter((stroke) => stroke.length > 0);
  if (onCanvas.length === 0) return empty;
  const box = bounds(onCanvas);
  const extent = Math.max(box.width, box.height);
  if (extent < MIN_EXTENT_FRACTION * Math.max(width, height)) return empty;

  const pen = digitBox * strokeFraction; // the stroke width in the frame
  const scale = (digitBox - pen) / extent; // frame pixels per canvas pixel: path + pen = DIGIT_BOX
  const size = [box.width * scale, box.height * scale];
  // The path's top-left corner in the frame, at first centred; the pen reaches pen / 2 beyond the path.
  let origin = size.map((side) => (frame - side) / 2);
  const place = () => onCanvas.map((stroke) => stroke.map(([x, y]) => [
    (x - box.left) * scale + origin[0], (y - box.top) * scale + origin[1]]));
  let image = drawFrame(place(), pen / 2, frame);
  for (let pass = 0; pass < CENTRING_PASSES; pass++) {
    const mass = centreOfMass(image, frame);
    origin = origin.map((at, axis) => clamp(at + centre + 0.5 - mass[axis], pen / 2, frame - pen / 2 - size[axis]));
    image = drawFrame(place(), pen / 2, frame);
  }
  const peak = Math.max(...image);
  return image.map((value) => value / peak);
}
