// The Draw tab's network in the page: the canvas, the served model's weights, the live views, and
// window.cnnDemo for tests and other tools. While the pen moves nothing is sent to the server: at every
// animation frame the strokes become the 28x28 input, the network runs, and every view is redrawn.
//
// Gradio mounts the two components (ui/live_network.py): the pad calls mountPad, the panel mountViews.
// Gradio's own events reach this module through window.cnnDemoPage (the dataset, the method, the
// target, which source tab is open); until it has loaded, they wait in a plain array.

import { arithmetic } from "./arithmetic.js";
import { DrawingPad } from "./drawing_pad.js";
import { explainImage, featureMaps, spatialLayers } from "./explain.js";
import { escapeHtml, LiveViews } from "./live_views.js";
import { fetchNetwork, watchModels } from "./model_feed.js";
import { forward } from "./network.js";
import { strokesToImage } from "./strokes_to_image.js";

const PIXELS = 28 * 28;
// After a swap every page fetches the new weights: spread over this time, a class's requests don't all
// land on the server in the same instant.
const SWAP_SPREAD_MS = 1500;
const NEW_MODEL = "🔄 <b>A newly trained model is now served to everyone.</b>";
const EMPTY = "✏️ Draw a digit, big and centred: the network follows your pen.";
const TOO_SMALL = "✏️ That is too small to read: draw a bigger digit.";
// The benchmark reads each frame's duration as a User Timing measure of this name.
const FRAME_MEASURE = "cnn-demo frame";

const state = {
  settings: null, dataset: null, method: null, target: null, drawing: true,
  network: null, networks: new Map(), served: {}, loading: null,
  pad: null, views: null, summary: null, strokes: [], size: 0, image: null,
};
let firstLoad;
const firstLoaded = new Promise((resolve) => { firstLoad = resolve; });

// -- the model -------------------------------------------------------------------------------------
async function load(dataset, notice = "") {
  let network = state.networks.get(dataset);
  if (!network) {
    network = await fetchNetwork(dataset);
    state.networks.set(dataset, network);
  }
  if (state.dataset !== dataset) return; // the student switched again meanwhile
  state.network = network;
  state.views?.useNetwork(network, spatialLayers(network));
  state.views?.announce(notice);
  render();
  firstLoad();
  if (state.served[dataset] && state.served[dataset] !== network.modelId) onModels({}); // swapped meanwhile
}

function useDataset(dataset, notice = "") {
  if (state.dataset === dataset && !notice) return;
  state.dataset = dataset;
  state.loading = load(dataset, notice).catch((error) => {
    state.views?.empty(`⚠️ The ${escapeHtml(dataset)} model cannot run in this page: ${escapeHtml(error.message)}`);
    throw error;
  });
}

// The server's news: the model now served for each dataset. A model we hold that is no longer served
// is dropped; the one on the page is fetched again, and the student told.
function onModels(served) {
  Object.assign(state.served, served);
  for (const [dataset, id] of Object.entries(state.served)) {
    const held = state.networks.get(dataset);
    if (!held || held.modelId === id) continue;
    state.networks.delete(dataset);
    if (dataset === state.dataset) {
      setTimeout(() => useDataset(dataset, NEW_MODEL), Math.random() * SWAP_SPREAD_MS);
    }
  }
}

// -- one frame --------------------------------------------------------------------------------------
// The server's model reads float32: so does this one, and both explain the very same numbers
// (a Float32Array rounds each value to the nearest float32, as Math.fround does, natively).
const asModelInput = (image) => new Float64Array(Float32Array.from(image));
// strokesToImage gives all zeros when there is no digit to read (nothing drawn, or only a dot).
const hasInk = (image) => image !== null && image.some((value) => value > 0);

// What follows "Prediction: X (p% sure).", in the server's words (webapp/grad_cam_view._describe).
function reason(network, result, fallbackUsed) {
  const [method, fallback] = [state.method, state.settings.fallback_method];
  const target = `<b>${escapeHtml(network.classNames[result.target])}</b>`;
  if (fallbackUsed) {
    const why = method === "Grad-CAM"
      ? ": its weight per map is an average gradient, the same for every image in this network" : "";
    return `${method} finds no positive evidence for ${target}${why}. The heatmap shows <b>${fallback}</b> `
      + `instead. Red: where the evidence for ${target} lies.`;
  }
  if (!result.cam.hasEvidence) return `${method} finds no positive evidence for ${target} anywhere in this image.`;
  return `Red: where the evidence for ${target} lies.`;
}

// As the server's explain_image: an empty map of one method is replaced by HiResCAM's, saying so.
function showExplanation(image) {
  const network = state.network;
  const input = asModelInput(image);
  const result = explainImage(network, input, state.target, state.method);
  const fallback = state.settings.fallback_method;
  const fallbackUsed = !result.cam.hasEvidence && state.method !== fallback;
  const shown = fallbackUsed ? result.mapOf(fallback) : result.cam;
  const name = network.classNames[result.predicted];
  const sure = result.probabilities[result.predicted] * 100;
  state.views.show(input, result, shown.heatmap, featureMaps(network, result.pass));
  state.views.sayPrediction(name, sure.toFixed(1), reason(network, result, fallbackUsed));
  summarize(`${name} · ${sure.toFixed(0)}%`);
}

// Beside the canvas, the prediction in a word: on a phone the live panel is a scroll away.
function summarize(text) {
  if (state.summary && state.summary.textContent !== text) state.summary.textContent = text;
}

function render() {
  if (!state.network || !state.views) return;
  performance.mark(FRAME_MEASURE);
  state.image = state.strokes.length ? strokesToImage(state.strokes, state.size, state.size, state.settings.geometry)
    : null;
  if (!hasInk(state.image)) {
    state.views.empty(state.image ? TOO_SMALL : EMPTY);
    summarize("");
  } else {
    showExplanation(state.image);
  }
  performance.measure(FRAME_MEASURE, FRAME_MEASURE);
  // Only the latest: a long session must not fill the page's memory with timings (observers still see each).
  performance.clearMarks(FRAME_MEASURE);
  performance.clearMeasures(FRAME_MEASURE);
}

// -- Gradio's events ----------------------------------------------------------------------------------
const HANDLERS = {
  dataset: (name) => useDataset(name),
  method: (name) => { state.method = name; state.views?.useMethod(name); render(); },
  target: (value) => { state.target = value === null || Number(value) < 0 ? null : Number(value); render(); },
  source: (kind) => {
    state.drawing = kind === "drawing";
    document.documentElement.classList.toggle("cnn-drawing", state.drawing); // the CSS shows the live panel
  },
};

/** For the deeper views: the image the student sees, when the drawing is what is shown (else null). */
function drawingForServer() {
  if (!state.drawing) return null;
  return hasInk(state.image) ? Array.from(state.image) : new Array(PIXELS).fill(0); // the server: "draw first"
}

function connectGradio() {
  const waiting = Array.isArray(window.cnnDemoPage) ? window.cnnDemoPage : [];
  window.cnnDemoPage = { push: ([kind, value]) => HANDLERS[kind]?.(value), drawingForServer };
  HANDLERS.source("drawing");
  waiting.forEach((event) => window.cnnDemoPage.push(event));
}

function start(settings) {
  if (state.settings) return;
  state.settings = settings;
  state.method = settings.default_method;
  const stylesheet = Object.assign(document.createElement("link"),
    { rel: "stylesheet", href: new URL("cnn_demo.css", import.meta.url).href });
  document.head.append(stylesheet);
  useDataset(settings.first_dataset);
  connectGradio();
  watchModels(onModels);
}

// -- mounting -----------------------------------------------------------------------------------------
export function mountPad(root, settings) {
  start(settings);
  const canvas = root.querySelector("canvas");
  state.summary = root.querySelector(".cnn-summary");
  state.pad = new DrawingPad(canvas, (strokes, size) => {
    [state.strokes, state.size] = [strokes, size];
    render();
  });
  root.querySelector(".cnn-undo").addEventListener("click", () => state.pad.undo());
  root.querySelector(".cnn-clear").addEventListener("click", () => state.pad.clear());
}

export function mountViews(root, settings) {
  start(settings);
  state.views = new LiveViews(root, settings);
  state.views.useMethod(state.method);
  if (state.network) state.views.useNetwork(state.network, spatialLayers(state.network));
  render();
}

// -- window.cnnDemo -----------------------------------------------------------------------------------
function checkedImage(image28) {
  if (!image28 || image28.length !== PIXELS) throw new TypeError(`image28 must hold ${PIXELS} numbers`);
  const image = asModelInput(image28);
  if (!image.every((value) => value >= 0 && value <= 1)) throw new RangeError("image28's values must be in [0, 1]");
  return image;
}

function checkedTarget(target) {
  if (target === null || target === undefined || target === state.settings.predicted) return null;
  if (!Number.isInteger(target) || target < 0 || target >= state.network.classNames.length) {
    throw new RangeError(`target must be a class index 0..${state.network.classNames.length - 1} or null`);
  }
  return target;
}

window.cnnDemo = {
  /** Resolves once the weights of the dataset shown on the page are loaded. */
  get ready() { return state.loading ?? firstLoaded; },

  /** The network of the dataset shown, the page's CAM method: {probabilities, predicted, target, cam, layers}. */
  explain(image28, target = null) {
    if (!state.network) throw new Error("no weights yet: await window.cnnDemo.ready first");
    const result = explainImage(state.network, checkedImage(image28), checkedTarget(target), state.method);
    const layers = featureMaps(state.network, result.pass).map(({ name, shape, data }) =>
      [name, { shape, data: Array.from(data) }]);
    return { probabilities: result.probabilities, predicted: result.predicted, target: result.target,
      cam: Array.from(result.cam.heatmap), layers: Object.fromEntries(layers) };
  },

  /** How the value at (channel, row, col) of layer ``layer`` (a name: conv1, pool1, ..., logits) is computed
   * for image28, as the arithmetic view shows it (arithmetic.js); for the dense layer, channel is the class. */
  arithmetic(image28, layer, channel, row = 0, col = 0) {
    if (!state.network) throw new Error("no weights yet: await window.cnnDemo.ready first");
    const image = checkedImage(image28);
    return arithmetic(state.network, forward(state.network, image), image, layer, channel, row, col);
  },

  /** strokes [[[x, y], ...], ...] in pixels of a width x height canvas -> 784 numbers in [0, 1]. */
  strokesToImage(strokes, width, height) {
    if (!state.settings) throw new Error("the page has not started yet: await window.cnnDemo.ready first");
    return Array.from(strokesToImage(strokes, width, height, state.settings.geometry));
  },
};
