// The served CNN, run in the page: the layer list the server sends (webapp/browser_model.py),
// followed in order, so any model the app trains (other filter counts, a third conv block) runs here.
//
// Tensors are Float64Arrays in TensorFlow's channels-last order: index (y * width + x) * channels + c.
// The model runs in float32 on the server; here the weights are those exact float32 values, and the
// arithmetic is float64, so the two agree to float32 rounding (about 1e-6 of a feature map's values).

const FORMAT = "cnn-demo-network/1"; // webapp/browser_model.py's FORMAT

const KINDS = new Set(["conv2d", "max_pool2d", "flatten", "dense"]);

// Math.fround: the JSON holds each float32 as its shortest decimal; rounding it back gives the exact weight.
const exactFloat32 = (values) => Float64Array.from(values, Math.fround);

function prepareLayer(layer) {
  if (!KINDS.has(layer.type)) throw new Error(`layer ${layer.name}: the page cannot run a ${layer.type} layer`);
  const prepared = { ...layer, outputShape: layer.output_shape };
  if (layer.kernel) {
    prepared.kernel = exactFloat32(layer.kernel);
    prepared.bias = exactFloat32(layer.bias);
    prepared.kernelShape = layer.kernel_shape;
  }
  return prepared;
}

/** The network described by the server's JSON document. */
export function buildNetwork(description) {
  if (description.format !== FORMAT) throw new Error(`unknown network format ${description.format}`);
  const layers = description.layers.map(prepareLayer);
  return {
    dataset: description.dataset,
    modelId: description.model_id,
    classNames: description.class_names,
    inputShape: description.input_shape,
    noEvidenceRatio: description.no_evidence_ratio,
    layers,
    camLayer: layers.map((layer) => layer.type).lastIndexOf("conv2d"), // as explainers/grad_cam.py: the last conv
  };
}

function activate(values, activation) {
  if (activation === "relu") for (let i = 0; i < values.length; i++) values[i] = Math.max(values[i], 0);
}

// "same" padding for stride 1 pads (k - 1) / 2 before, the rest after, as TensorFlow does.
// Each input value is multiplied into all the filters at once: the filters are the innermost axis of
// both the kernel and the output, so every read and write is to the next number in memory.
function conv2d(input, [height, width, channels], layer) {
  const { kernel, bias } = layer; // locals: the loops below run a hundred thousand times a frame
  const [kh, kw, , filters] = layer.kernelShape;
  const [outHeight, outWidth] = layer.outputShape;
  const [top, left] = layer.padding === "same" ? [(kh - 1) >> 1, (kw - 1) >> 1] : [0, 0];
  const out = new Float64Array(outHeight * outWidth * filters);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      const o = (y * outWidth + x) * filters;
      for (let f = 0; f < filters; f++) out[o + f] = bias[f];
      for (let ky = 0; ky < kh; ky++) {
        const iy = y + ky - top;
        if (iy < 0 || iy >= height) continue;
        for (let kx = 0; kx < kw; kx++) {
          const ix = x + kx - left;
          if (ix < 0 || ix >= width) continue;
          const inBase = (iy * width + ix) * channels;
          const kBase = (ky * kw + kx) * channels * filters;
          for (let c = 0; c < channels; c++) {
            const value = input[inBase + c];
            if (value === 0) continue; // the background and ReLU's zeros: no products to add
            const k = kBase + c * filters;
            for (let f = 0; f < filters; f++) out[o + f] += value * kernel[k + f];
          }
        }
      }
    }
  }
  activate(out, layer.activation);
  return out;
}

// Calls visit(outputIndex, cellIndex) for every cell of every pooling window, window by window, each
// window's cells in scan order (row by row), every channel apart.
function forEachPoolCell([, width, channels], layer, visit) {
  const [ph, pw] = layer.pool_size;
  const [sh, sw] = layer.strides;
  const [outHeight, outWidth] = layer.outputShape;
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      for (let c = 0; c < channels; c++) {
        const o = (y * outWidth + x) * channels + c;
        for (let dy = 0; dy < ph; dy++) {
          for (let dx = 0; dx < pw; dx++) visit(o, ((y * sh + dy) * width + (x * sw + dx)) * channels + c);
        }
      }
    }
  }
}

/** The cell of each pooling window that takes its gradient, as explainers/max_pool.py picks it: the cells
 * within the layer's tie tolerance of the window's maximum (``output``) are tied, and the first of them in
 * scan order wins. So rounding does not decide ties: this page computes in float64, the server in float32,
 * and both give the gradient to the same cell. Calls visit(outputIndex, inputIndex) for every output. */
export function forEachPoolWinner(input, output, shape, layer, visit) {
  let decided = -1; // the last window given a winner: later cells of it are passed over
  forEachPoolCell(shape, layer, (o, i) => {
    if (o === decided || !tiedWithMaximum(input[i], output[o], layer)) return;
    decided = o;
    visit(o, i);
  });
}

/** Whether ``value`` counts as tied with its window's ``maximum``: within the layer's tie tolerance of it. */
export function tiedWithMaximum(value, maximum, layer) {
  const { relative, absolute } = layer.tie_tolerance;
  return maximum - value <= Math.max(relative * Math.abs(maximum), absolute);
}

function maxPool2d(input, shape, layer) {
  const out = new Float64Array(layer.outputShape.reduce((a, b) => a * b)).fill(-Infinity);
  forEachPoolCell(shape, layer, (o, i) => { out[o] = Math.max(out[o], input[i]); });
  return out;
}

function dense(input, layer) {
  const { kernel } = layer;
  const [inputs, units] = layer.kernelShape;
  const out = Float64Array.from(layer.bias);
  for (let i = 0; i < inputs; i++) {
    const value = input[i];
    if (value === 0) continue;
    const row = i * units;
    for (let j = 0; j < units; j++) out[j] += value * kernel[row + j];
  }
  activate(out, layer.activation);
  return out;
}

function runLayer(layer, input, shape) {
  if (layer.type === "conv2d") return conv2d(input, shape, layer);
  if (layer.type === "max_pool2d") return maxPool2d(input, shape, layer);
  if (layer.type === "dense") return dense(input, layer);
  return input; // flatten: channels-last order is already Keras's flattened order
}

/** Every layer's output for one image (Float64Array, white ink on black, in [0, 1], 28x28 row-major).
 * Returns {outputs: [Float64Array per layer], logits}. */
export function forward(network, image) {
  const outputs = [];
  let values = image;
  let shape = network.inputShape;
  for (const layer of network.layers) {
    values = runLayer(layer, values, shape);
    shape = layer.outputShape;
    outputs.push(values);
  }
  return { outputs, logits: values };
}

/** The shape of the tensor that enters layer ``index``. */
export function inputShapeOf(network, index) {
  return index === 0 ? network.inputShape : network.layers[index - 1].outputShape;
}

export function softmax(logits) {
  const peak = Math.max(...logits);
  const exps = logits.map((value) => Math.exp(value - peak));
  const total = exps.reduce((sum, value) => sum + value, 0);
  return exps.map((value) => value / total);
}

/** The first index of the largest value, as tf.argmax picks it. */
export function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
