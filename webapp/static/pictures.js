// The live panel's pictures, drawn pixel by pixel into small canvases that CSS enlarges.
//
// Each canvas keeps one ImageData whose pixels are written as 32-bit words from colour tables made once:
// a frame redraws every picture with a few tens of thousands of array writes and one putImageData per
// canvas. The colours are the server's own tables (plots/overlay.py's heatmap, plots/html_grids.py's
// feature maps), so these pictures are the ones the server draws. The heatmap is the 28x28 map, which
// the browser enlarges smoothly over the blocky digit at half opacity (cnn_demo.css), as
// plots.overlay.heatmap_overlay blends them.

export const TILE = 28; // every feature map is drawn at 28x28, so that all layers' tiles line up
const TILE_GAP = 2;
const TILES_PER_ROW = 8;
const TILE_ZOOM = 2; // screen pixels per tile pixel: 56 px tiles
const BLANK = [0xee, 0xee, 0xee];

/** [[r, g, b], ...] as 32-bit RGBA words in the machine's byte order, ready for an ImageData's buffer. */
export function packColours(table) {
  const bytes = new Uint8ClampedArray(table.length * 4);
  table.forEach(([r, g, b], i) => bytes.set([r, g, b, 255], i * 4));
  return new Uint32Array(bytes.buffer);
}

const BLANK_WORD = packColours([BLANK])[0];
// The index of a value in a 256-entry table, as numpy's uint8 cast of clip(v, 0, 1) * 255: the floor.
const level = (value) => Math.floor(Math.min(Math.max(value, 0), 1) * 255);

export class Picture {
  constructor(width, height, className) {
    this.canvas = Object.assign(document.createElement("canvas"), { width, height, className });
    this.context = this.canvas.getContext("2d");
    this.image = this.context.createImageData(width, height);
    this.words = new Uint32Array(this.image.data.buffer);
  }

  show() {
    this.context.putImageData(this.image, 0, 0);
  }

  blank() {
    this.words.fill(BLANK_WORD);
    this.show();
  }
}

/** Values in [0, 1] through a colour table (packColours), one canvas pixel per value. */
export function paintValues(picture, values, colours) {
  for (let i = 0; i < values.length; i++) picture.words[i] = colours[level(values[i])];
  picture.show();
}

/** The canvas for one layer's maps: one 28x28 tile per channel, TILES_PER_ROW to a row. */
export function mapsPicture(channels) {
  const columns = Math.min(channels, TILES_PER_ROW);
  const rows = Math.ceil(channels / columns);
  const picture = new Picture(columns * (TILE + TILE_GAP) - TILE_GAP, rows * (TILE + TILE_GAP) - TILE_GAP,
    "cnn-maps");
  picture.columns = columns;
  picture.canvas.dataset.channels = channels;
  picture.canvas.style.width = `${picture.canvas.width * TILE_ZOOM}px`; // CSS may shrink it on a phone
  picture.blank();
  return picture;
}

/** Where channel ``channel``'s tile starts in a maps picture: [left, top] in canvas pixels. */
export function tileOrigin(picture, channel) {
  return [(channel % picture.columns) * (TILE + TILE_GAP), Math.floor(channel / picture.columns) * (TILE + TILE_GAP)];
}

/** Every channel of a layer's output (height x width x channels), each scaled to its own maximum: the
 * colour of each map pixel is found once, and a tile row that repeats the one above is copied. */
export function paintMaps(picture, { shape: [height, width, channels], data }, lut) {
  const words = picture.words;
  const stride = picture.canvas.width;
  const colours = new Uint32Array(height * width);
  const columns = Int32Array.from({ length: TILE }, (_, tx) => Math.floor(tx * width / TILE));
  for (let c = 0; c < channels; c++) {
    let peak = 0;
    for (let p = c; p < data.length; p += channels) peak = Math.max(peak, data[p]);
    const scale = peak > 0 ? 1 / peak : 0; // a map that never fires stays dark
    for (let p = 0; p < colours.length; p++) colours[p] = lut[level(data[p * channels + c] * scale)];
    const [left, top] = tileOrigin(picture, c);
    for (let ty = 0; ty < TILE; ty++) {
      const source = Math.floor(ty * height / TILE);
      const row = (top + ty) * stride + left;
      if (ty > 0 && source === Math.floor((ty - 1) * height / TILE)) {
        words.copyWithin(row, row - stride, row - stride + TILE);
        continue;
      }
      for (let tx = 0; tx < TILE; tx++) words[row + tx] = colours[source * width + columns[tx]];
    }
  }
  picture.show();
}
