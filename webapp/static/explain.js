// One image through the network: prediction, the chosen CAM map of the target class, every layer's output.

import { classActivationMap, logitGradient } from "./cam.js";
import { argmax, forward, softmax } from "./network.js";

/** ``target``: a class index, or null for the predicted class. ``mapOf(method)`` gives the map of
 * another CAM method from the same forward and backward pass (the fallback heatmap costs no more). */
export function explainImage(network, image, target, method) {
  const pass = forward(network, image);
  const probabilities = softmax(Array.from(pass.logits));
  const predicted = argmax(pass.logits);
  const explained = target ?? predicted;
  const index = network.camLayer;
  const grads = logitGradient(network, pass, explained, index);
  const mapOf = (name) => classActivationMap(pass.outputs[index], grads, network.layers[index].outputShape, name,
    network.noEvidenceRatio);
  return { pass, probabilities, predicted, target: explained, cam: mapOf(method), mapOf };
}

/** The layers with feature maps (conv and pool), as explainers/filter_visualizer.py lists them:
 * [{name, shape, index}], shape [height, width, channels]. */
export function spatialLayers(network) {
  return network.layers
    .map((layer, index) => ({ name: layer.name, type: layer.type, shape: layer.outputShape, index }))
    .filter((layer) => layer.type === "conv2d" || layer.type === "max_pool2d");
}

/** Their outputs for one forward pass: [{name, shape, data}]. */
export function featureMaps(network, pass) {
  return spatialLayers(network).map(({ name, shape, index }) => ({ name, shape, data: pass.outputs[index] }));
}
