// Class activation maps in the page, computed as explainers/grad_cam.py computes them:
//   1. the gradient of the target class's logit with respect to the last conv layer's output A;
//   2. a weight per value of A, by the chosen method (the `weigh` of each CAM class there);
//   3. map = ReLU(sum over channels of weight * A), upsampled bilinearly to 28x28 and scaled to [0, 1];
//      a map whose peak is below NO_EVIDENCE_RATIO of its largest single term is rounding noise: all zero.

import { forEachPoolWinner, inputShapeOf } from "./network.js";

const SIZE = 28;

// d logit / d input of one layer, from d logit / d output. Only the layers after the last conv layer
// are crossed: max-pools, flatten and dense layers.
function backward(network, index, pass, gradOut) {
  const layer = network.layers[index];
  const input = index === 0 ? null : pass.outputs[index - 1];
  if (layer.type === "flatten") return gradOut;
  if (layer.type === "dense") {
    const [inputs, units] = layer.kernelShape;
    const output = pass.outputs[index];
    const grad = gradOut.map((g, j) => (layer.activation === "relu" && output[j] <= 0 ? 0 : g));
    const gradIn = new Float64Array(inputs);
    for (let i = 0; i < inputs; i++) {
      let sum = 0;
      for (let j = 0; j < units; j++) sum += layer.kernel[i * units + j] * grad[j];
      gradIn[i] = sum;
    }
    return gradIn;
  }
  if (layer.type === "max_pool2d") {
    // The gradient goes to the one cell that won each window (a tie: the first, as explainers/max_pool.py).
    const gradIn = new Float64Array(input.length);
    forEachPoolWinner(input, pass.outputs[index], inputShapeOf(network, index), layer,
      (o, i) => { gradIn[i] += gradOut[o]; });
    return gradIn;
  }
  throw new Error(`no gradient through a ${layer.type} layer after the last conv layer`);
}

/** d logit[target] / d (output of layer ``layerIndex``), as a Float64Array of that output's shape. */
export function logitGradient(network, pass, target, layerIndex) {
  let grad = new Float64Array(pass.logits.length);
  grad[target] = 1;
  for (let index = network.layers.length - 1; index > layerIndex; index--) grad = backward(network, index, pass, grad);
  return grad;
}

// Per-channel sums over the positions of a (positions x channels) tensor.
function channelSums(values, channels, term = (v) => v) {
  const sums = new Float64Array(channels);
  for (let i = 0; i < values.length; i++) sums[i % channels] += term(values[i], i);
  return sums;
}

const relu = (v) => (v > 0 ? v : 0);

// The weight of each value of A, one function per method (broadcast over positions where per channel).
const WEIGHTS = {
  // One weight per map: the spatial mean of its gradients.
  "Grad-CAM": (grads, features, channels) => {
    const sums = channelSums(grads, channels);
    const positions = grads.length / channels;
    return (i) => sums[i % channels] / positions;
  },
  // Gradients times activations, element by element.
  "HiResCAM": (grads) => (i) => grads[i],
  // Only the positive gradients, element by element.
  "LayerCAM": (grads) => (i) => relu(grads[i]),
  // sum_ij alpha_ij * ReLU(g_ij), alpha = g^2 / (2 g^2 + sum_ab A_ab * g^3), 0 where the denominator is.
  "Grad-CAM++": (grads, features, channels) => {
    const totals = channelSums(features, channels);
    const weights = channelSums(grads, channels, (g, i) => {
      const squared = g * g;
      const denominator = 2 * squared + totals[i % channels] * squared * g;
      return denominator === 0 ? 0 : (squared / denominator) * relu(g);
    });
    return (i) => weights[i % channels];
  },
};

const CAM_METHODS = Object.keys(WEIGHTS);

// tf.image.resize, bilinear, half-pixel centres: source coordinate (i + 0.5) * in / out - 0.5,
// its floor and ceiling clamped to the image, and the fraction between them.
function interpolation(inSize, outSize) {
  const scale = inSize / outSize;
  return Array.from({ length: outSize }, (_, i) => {
    const position = (i + 0.5) * scale - 0.5;
    const floor = Math.floor(position);
    return { lower: Math.max(floor, 0), upper: Math.min(Math.ceil(position), inSize - 1), fraction: position - floor };
  });
}

function resizeBilinear(map, height, width) {
  const rows = interpolation(height, SIZE);
  const cols = interpolation(width, SIZE);
  const out = new Float64Array(SIZE * SIZE);
  for (let y = 0; y < SIZE; y++) {
    const { lower: top, upper: bottom, fraction: dy } = rows[y];
    for (let x = 0; x < SIZE; x++) {
      const { lower: left, upper: right, fraction: dx } = cols[x];
      const upperRow = map[top * width + left] + (map[top * width + right] - map[top * width + left]) * dx;
      const lowerRow = map[bottom * width + left] + (map[bottom * width + right] - map[bottom * width + left]) * dx;
      out[y * SIZE + x] = upperRow + (lowerRow - upperRow) * dy;
    }
  }
  return out;
}

/** The map of ``method`` from the features A of shape [h, w, k] and their gradients.
 * Returns {raw (h*w, after ReLU), heatmap (28*28 in [0, 1], all zero without evidence), hasEvidence}. */
export function classActivationMap(features, grads, [height, width, channels], method, noEvidenceRatio) {
  const weigh = WEIGHTS[method];
  if (!weigh) throw new Error(`unknown CAM method ${method}: choose one of ${CAM_METHODS.join(", ")}`);
  const weight = weigh(grads, features, channels);
  const raw = new Float64Array(height * width);
  let largestTerm = 0;
  for (let i = 0; i < features.length; i++) {
    const term = weight(i) * features[i];
    largestTerm = Math.max(largestTerm, Math.abs(term));
    raw[Math.floor(i / channels)] += term;
  }
  let peak = 0;
  for (let p = 0; p < raw.length; p++) { raw[p] = relu(raw[p]); peak = Math.max(peak, raw[p]); }
  const hasEvidence = peak > noEvidenceRatio * largestTerm;
  if (!hasEvidence) return { raw: raw.fill(0), heatmap: new Float64Array(SIZE * SIZE), hasEvidence };
  const heatmap = resizeBilinear(raw, height, width);
  const top = Math.max(Math.max(...heatmap), 1e-12);
  for (let i = 0; i < heatmap.length; i++) heatmap[i] /= top;
  return { raw, heatmap, hasEvidence };
}
