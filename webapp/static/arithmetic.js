// How one number of the network is computed, from the forward pass the page already made (network.js):
// the numbers CNN Explainer shows for a cell, on the student's own image. arithmetic_view.js draws them;
// window.cnnDemo.arithmetic hands them to tests, which check them against the Python model.
//
//   conv cell:  ReLU(bias + sum over the input channels and the k x k window of input x kernel)
//   pool cell:  the largest value of its window; the winner is the cell max-pool's gradient goes to
//   logit:      bias + sum over the dense layer's inputs (the last pool's cells) of activation x weight
//
// Every part is computed here again, in float64 from the same float32 weights, so the parts shown add
// up to the total shown; the total equals the forward pass's own value to float64 rounding.

import { forEachPoolWinner, inputShapeOf, tiedWithMaximum } from "./network.js";

const relu = (value) => Math.max(value, 0);
const activate = (value, activation) => (activation === "relu" ? relu(value) : value);

/** The layer's index by name; RangeError if the network has none of that name. */
export function layerIndex(network, name) {
  const index = network.layers.findIndex((layer) => layer.name === name);
  if (index < 0) {
    throw new RangeError(`no layer ${name}: choose one of ${network.layers.map((layer) => layer.name).join(", ")}`);
  }
  return index;
}

function inputOf(network, pass, image, index) {
  return index === 0 ? image : pass.outputs[index - 1];
}

function inputName(network, index) {
  return index === 0 ? "input" : network.layers[index - 1].name;
}

// "same" padding for stride 1: (k - 1) / 2 before, as network.js's conv2d pads.
function paddingBefore(layer) {
  const [kh, kw] = layer.kernelShape;
  return layer.padding === "same" ? [(kh - 1) >> 1, (kw - 1) >> 1] : [0, 0];
}

/** The rows or columns [first, last] of the 28x28 input that reach cells [first, last] of layer
 * ``index``'s output along one axis (0: rows, 1: columns): the receptive field, clipped to the image. */
function fieldAlong(network, index, [first, last], axis) {
  for (let i = index; i >= 0; i--) {
    const layer = network.layers[i];
    const size = inputShapeOf(network, i)[axis];
    if (layer.type === "conv2d") {
      const before = paddingBefore(layer)[axis];
      [first, last] = [first - before, last + layer.kernelShape[axis] - 1 - before];
    } else if (layer.type === "max_pool2d") {
      [first, last] = [first * layer.strides[axis], last * layer.strides[axis] + layer.pool_size[axis] - 1];
    }
    [first, last] = [Math.max(first, 0), Math.min(last, size - 1)];
  }
  return [first, last];
}

/** The input pixels a cell (or a block of cells) of layer ``index`` sees: {top, bottom, left, right}, inclusive. */
export function inputField(network, index, rows, cols) {
  const [top, bottom] = fieldAlong(network, index, rows, 0);
  const [left, right] = fieldAlong(network, index, cols, 1);
  return { top, bottom, left, right };
}

function checkCell(network, index, channel, row, col) {
  const [height, width, channels] = network.layers[index].outputShape;
  for (const [name, value, size] of [["channel", channel, channels], ["row", row, height], ["col", col, width]]) {
    if (!Number.isInteger(value) || value < 0 || value >= size) {
      throw new RangeError(`${name} must be an integer 0..${size - 1} for ${network.layers[index].name}`);
    }
  }
}

/** One value of a conv layer's output: its window of every input channel, the kernel's slice for
 * ``filter``, their products, each channel's sum, the total, the bias, and the value before and after
 * the activation. Window cells outside the input (the "same" padding) are 0, and marked in ``padded``. */
function convArithmetic(network, pass, image, index, filter, row, col) {
  const layer = network.layers[index];
  const input = inputOf(network, pass, image, index);
  const [height, width, channels] = inputShapeOf(network, index);
  const [kh, kw, , filters] = layer.kernelShape;
  const [top, left] = paddingBefore(layer);
  const grid = () => Array.from({ length: kh }, () => new Array(kw).fill(0));
  const window = [], kernel = [], products = [], channelSums = [];
  const padded = grid().map((cells) => cells.map(() => false));
  for (let c = 0; c < channels; c++) {
    const [values, weights, terms] = [grid(), grid(), grid()];
    let channelSum = 0;
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const [iy, ix] = [row + ky - top, col + kx - left];
        const inside = iy >= 0 && iy < height && ix >= 0 && ix < width;
        padded[ky][kx] = !inside;
        values[ky][kx] = inside ? input[(iy * width + ix) * channels + c] : 0;
        weights[ky][kx] = layer.kernel[((ky * kw + kx) * channels + c) * filters + filter];
        terms[ky][kx] = values[ky][kx] * weights[ky][kx];
        channelSum += terms[ky][kx];
      }
    }
    window.push(values);
    kernel.push(weights);
    products.push(terms);
    channelSums.push(channelSum);
  }
  const sum = channelSums.reduce((total, value) => total + value, 0);
  const bias = layer.bias[filter];
  const preActivation = sum + bias;
  return {
    type: "conv2d", layer: layer.name, input: inputName(network, index), channel: filter, row, col,
    rows: [row - top, row - top + kh - 1], cols: [col - left, col - left + kw - 1], // the window, in the input
    window, kernel, products, padded, channelSums, sum, bias, preActivation,
    activation: layer.activation, output: activate(preActivation, layer.activation),
    field: inputField(network, index, [row, row], [col, col]),
  };
}

/** One value of a max-pool layer: its window in the layer below, and the cell that won it, found by
 * network.js's forEachPoolWinner: the very rule by which max-pool's gradient (the CAMs) picks it. */
function poolArithmetic(network, pass, image, index, channel, row, col) {
  const layer = network.layers[index];
  const input = inputOf(network, pass, image, index);
  const shape = inputShapeOf(network, index);
  const [, width, channels] = shape;
  const outWidth = layer.outputShape[1];
  const [[ph, pw], [sh, sw]] = [layer.pool_size, layer.strides];
  const [rowOffset, colOffset] = [row * sh, col * sw];
  const window = Array.from({ length: ph }, (_, dy) => Array.from({ length: pw },
    (_, dx) => input[((rowOffset + dy) * width + colOffset + dx) * channels + channel]));
  const wanted = (row * outWidth + col) * channels + channel;
  const pooled = pass.outputs[index];
  let won = -1;
  forEachPoolWinner(input, pooled, shape, layer, (output, winner) => { if (output === wanted) won = winner; });
  const cell = Math.floor(won / channels);
  const winner = [Math.floor(cell / width) - rowOffset, (cell % width) - colOffset];
  const output = pooled[wanted]; // the window's maximum (forward); the winner is the first value tied with it
  const tied = window.flat().filter((value) => tiedWithMaximum(value, output, layer)).length;
  return {
    type: "max_pool2d", layer: layer.name, input: inputName(network, index), channel, row, col,
    rows: [rowOffset, rowOffset + ph - 1], cols: [colOffset, colOffset + pw - 1],
    window, winner, tied, output, field: inputField(network, index, [row, row], [col, col]),
  };
}

/** One logit of the dense layer: bias + the sum of activation x weight over its inputs, each input
 * named by the cell of the spatial layer it was flattened from. Contributions sorted by size, largest first. */
function denseArithmetic(network, pass, image, index, unit) {
  const layer = network.layers[index];
  const input = inputOf(network, pass, image, index);
  const [inputs, units] = layer.kernelShape;
  if (!Number.isInteger(unit) || unit < 0 || unit >= units) throw new RangeError(`class must be 0..${units - 1}`);
  let spatial = index - 1; // the layer the flatten read: its cells name the inputs
  while (spatial >= 0 && network.layers[spatial].type === "flatten") spatial--;
  const [, width, channels] = inputShapeOf(network, spatial + 1);
  const contributions = Array.from({ length: inputs }, (_, i) => {
    const [cell, channel] = [Math.floor(i / channels), i % channels];
    const [activation, weight] = [input[i], layer.kernel[i * units + unit]];
    return { index: i, channel, row: Math.floor(cell / width), col: cell % width, activation, weight,
      product: activation * weight };
  });
  const sum = contributions.reduce((total, term) => total + term.product, 0);
  contributions.sort((a, b) => Math.abs(b.product) - Math.abs(a.product) || a.index - b.index);
  const bias = layer.bias[unit];
  const preActivation = sum + bias;
  return {
    type: "dense", layer: layer.name, input: spatial >= 0 ? network.layers[spatial].name : "input", channel: unit,
    className: network.classNames[unit], contributions,
    active: contributions.filter((term) => term.activation !== 0).length,
    sum, bias, preActivation, activation: layer.activation, output: activate(preActivation, layer.activation),
  };
}

const BY_TYPE = { conv2d: convArithmetic, max_pool2d: poolArithmetic, dense: denseArithmetic };

/** How the value at (channel, row, col) of layer ``name`` is computed, for ``image`` and its forward pass
 * (for a dense layer, ``channel`` is the unit: the class). */
export function arithmetic(network, pass, image, name, channel, row = 0, col = 0) {
  const index = layerIndex(network, name);
  const explain = BY_TYPE[network.layers[index].type];
  if (!explain) throw new RangeError(`${name} is a ${network.layers[index].type} layer: nothing is computed there`);
  if (network.layers[index].type !== "dense") checkCell(network, index, channel, row, col);
  return explain(network, pass, image, index, channel, row, col);
}
