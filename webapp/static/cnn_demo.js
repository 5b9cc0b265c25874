// The Draw tab's network in the page: the canvas, the served model's weights, the live views, and
// window.cnnDemo for tests and other tools. While the pen moves nothing is sent to the server: at every
// animation frame the strokes become the 28x28 input, the network runs, and every view is redrawn.
//
// Gradio mounts the two components (ui/live_network.py): the pad calls mountPad, the panel mountViews.
// Gradio's own events reach this module through window.cnnDemoPage (the dataset, the method, the
// target, which source tab is open); until it has loaded, they wait in a plain array.
//
// In a class (class_follow.js), the instructor may show everyone an image: the views then explain it, with
// the target class and the method the instructor chose, by the class's model (MNIST), until the student
// steps back to their own drawing (a click, or drawing again); the next image shown brings them back.

import { arithmetic } from "./arithmetic.js";
import { DrawingPad } from "./drawing_pad.js";
import { explainImage, featureMaps, spatialLayers } from "./explain.js";
import { commitNumbersWithTheKeyboard } from "./keyboard.js";
import { escapeHtml, LiveViews } from "./live_views.js";
import { fetchNetwork, watchModels } from "./model_feed.js";
import { forward } from "./network.js";
import { strokesToImage } from "./strokes_to_image.js";

const PIXELS = 28 * 28;
// After a swap every page fetches the new weights: spread over this time, a class's requests don't all
// land on the server in the same instant.
const SWAP_SPREAD_MS = 1500;
const NEW_MODEL = "🔄 <b>A newly trained model is now served to everyone.</b>";
const empty = (what) => `✏️ Draw ${what}, big and centred: the network follows your pen.`;
const TOO_SMALL = "✏️ That is too small to read: draw it bigger.";
// The header's hidden button that shows the card of the model served now (ui/header.py).
const CARD_REFRESH = "#model-card-refresh";
// The benchmark reads each frame's duration as a User Timing measure of this name.
const FRAME_MEASURE = "cnn-demo frame";

const state = {
  settings: null, dataset: null, method: null, target: null, drawing: true,
  network: null, networks: new Map(), served: {}, loading: null, viewed: null, // viewed: the views' network
  cardMadeFor: null, // the model the header's card came with the page for (ui/header.py)
  pad: null, views: null, summary: null, drawWhat: null, strokes: [], size: 0, image: null,
  shown: null, following: false, onScreen: null, // what the instructor shows; whether the views show it
};
let firstLoad;
const firstLoaded = new Promise((resolve) => { firstLoad = resolve; });

// -- the model -------------------------------------------------------------------------------------
async function networkOf(dataset) {
  let network = state.networks.get(dataset);
  if (!network) {
    network = await fetchNetwork(dataset);
    state.networks.set(dataset, network);
  }
  return network;
}

async function load(dataset, notice = "") {
  const network = await networkOf(dataset);
  if (state.dataset !== dataset) return; // the student switched again meanwhile
  state.network = network;
  state.views?.announce(notice);
  if (notice) document.querySelector(CARD_REFRESH)?.click(); // the header's card, of the new model
  refreshStaleCard();
  render();
  firstLoad();
  if (state.served[dataset] && state.served[dataset] !== network.modelId) onModels({}); // swapped meanwhile
}

function useDataset(dataset, notice = "") {
  if (state.dataset === dataset && !notice) return;
  state.dataset = dataset;
  if (state.drawWhat) state.drawWhat.textContent = drawWhat();
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
    } else if (dataset === state.shown?.dataset) {
      setTimeout(render, Math.random() * SWAP_SPREAD_MS); // the shown image, by the class's new model
    }
  }
}

// The header's card came with the page, made for the model served when the server built it (ui/header.py):
// once the weights of its dataset are here, the card is asked for again if they are another model's.
function refreshStaleCard() {
  const madeFor = state.cardMadeFor;
  const network = madeFor && state.networks.get(madeFor.dataset);
  if (!network) return;
  state.cardMadeFor = null;
  if (network.modelId !== madeFor.model) document.querySelector(CARD_REFRESH)?.click();
}

/** The views' rows follow the network they show (the class's own while the instructor's image is shown). */
function view(network) {
  if (state.viewed === network) return;
  state.viewed = network;
  state.views.useNetwork(network, spatialLayers(network));
}

// -- one frame --------------------------------------------------------------------------------------
// The server's model reads float32: so does this one, and both explain the very same numbers
// (a Float32Array rounds each value to the nearest float32, as Math.fround does, natively).
const asModelInput = (image) => new Float64Array(Float32Array.from(image));
// strokesToImage gives all zeros when there is no digit to read (nothing drawn, or only a dot).
const hasInk = (image) => image !== null && image.some((value) => value > 0);

// What follows "Prediction: X (p% sure).", in the server's words (webapp/grad_cam_view._describe).
function reason(network, result, method, fallbackUsed) {
  const fallback = state.settings.fallback_method;
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

const drawWhat = () => state.settings.draw_what[state.dataset] ?? "one picture";

// As the server's explain_image: an empty map of one method is replaced by HiResCAM's, saying so.
function showExplanation(network, image, target, method) {
  view(network);
  const input = asModelInput(image);
  const result = explainImage(network, input, target, method);
  const fallback = state.settings.fallback_method;
  const fallbackUsed = !result.cam.hasEvidence && method !== fallback;
  const shown = fallbackUsed ? result.mapOf(fallback) : result.cam;
  const name = network.classNames[result.predicted];
  const sure = result.probabilities[result.predicted] * 100;
  state.views.show(input, result, shown.heatmap, featureMaps(network, result.pass));
  state.views.useMethod(fallbackUsed ? `${fallback}, as ${method} finds no evidence` : method);
  state.views.sayPrediction(name, sure.toFixed(1), reason(network, result, method, fallbackUsed));
  state.onScreen = { image: input, target: result.target, method: fallbackUsed ? fallback : method,
    predicted: result.predicted, probabilities: result.probabilities, heatmap: shown.heatmap };
  return name;
}

// Beside the canvas, the prediction in a word: on a phone the live panel is a scroll away.
function summarize(text) {
  if (state.summary && state.summary.textContent !== text) state.summary.textContent = text;
}

function render() {
  if (state.following && state.shown && state.views) {
    renderShown();
    return;
  }
  if (!state.network || !state.views) return;
  performance.mark(FRAME_MEASURE);
  view(state.network);
  state.image = state.strokes.length ? strokesToImage(state.strokes, state.size, state.size, state.settings.geometry)
    : null;
  state.onScreen = null;
  if (!hasInk(state.image)) {
    state.views.empty(state.image ? TOO_SMALL : empty(drawWhat()));
    state.views.useMethod(state.method);
    summarize("");
  } else {
    const name = showExplanation(state.network, state.image, state.target, state.method);
    summarize(`${name} · ${(state.onScreen.probabilities[state.onScreen.predicted] * 100).toFixed(0)}%`);
  }
  performance.measure(FRAME_MEASURE, FRAME_MEASURE);
  // Only the latest: a long session must not fill the page's memory with timings (observers still see each).
  performance.clearMarks(FRAME_MEASURE);
  performance.clearMeasures(FRAME_MEASURE);
}

// -- what the instructor shows everyone ---------------------------------------------------------------
// The instructor's image, by the class's model; the student's own drawing waits on the canvas.
function renderShown() {
  const shown = state.shown;
  const network = state.networks.get(shown.dataset);
  if (!network) {
    networkOf(shown.dataset).then(render, (error) => state.views.empty(
      `⚠️ The class's model cannot run in this page: ${escapeHtml(error.message)}`));
    return;
  }
  showExplanation(network, shown.image, shown.target, shown.method);
  summarize("📽️ the instructor's image");
  shown.at ??= Date.now(); // when this page first showed it (the benchmark's delay)
}

function followBar() {
  const shown = state.shown;
  state.views?.follow(shown && {
    following: state.following, source: shown.source, method: shown.method,
    target: shown.target === null ? "the predicted class" : `class ${shown.target}`,
    stepAway, rejoin,
  });
  document.documentElement.classList.toggle("cnn-following", Boolean(shown && state.following));
}

function stepAway() {
  if (!state.following) return;
  state.following = false;
  followBar();
  render();
}

function rejoin() {
  state.following = Boolean(state.shown);
  followBar();
  render();
}

/** What the instructor shows now ({image, target (-1: predicted), method, source, dataset, shown}) or null;
 * ``fresh``: newly shown, so the page follows it again even if the student had stepped away. */
export function showInstructors(shown, fresh) {
  state.shown = shown && { ...shown, image: Array.from(shown.image), target: shown.target < 0 ? null : shown.target };
  if (fresh || !shown) state.following = Boolean(shown);
  followBar();
  render();
}

// -- Gradio's events ----------------------------------------------------------------------------------
const HANDLERS = {
  dataset: (name) => useDataset(name),
  method: (name) => { state.method = name; state.views?.useMethod(name); render(); },
  target: (value) => { state.target = value === null || Number(value) < 0 ? null : Number(value); render(); },
  card: (madeFor) => { state.cardMadeFor = madeFor; refreshStaleCard(); },
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
  commitNumbersWithTheKeyboard(document);
  watchModels(onModels);
}

// -- mounting -----------------------------------------------------------------------------------------
export function mountPad(root, settings) {
  start(settings);
  const canvas = root.querySelector("canvas");
  state.summary = root.querySelector(".cnn-summary");
  state.drawWhat = root.querySelector(".cnn-draw-what");
  state.drawWhat.textContent = drawWhat();
  state.pad = new DrawingPad(canvas, (strokes, size) => {
    [state.strokes, state.size] = [strokes, size];
    render();
  });
  // Drawing (or undoing, clearing) while the instructor's image is shown: back to one's own drawing.
  canvas.addEventListener("pointerdown", stepAway);
  root.querySelector(".cnn-undo").addEventListener("click", () => { stepAway(); state.pad.undo(); });
  root.querySelector(".cnn-clear").addEventListener("click", () => { stepAway(); state.pad.clear(); });
}

export function mountViews(root, settings) {
  start(settings);
  state.views = new LiveViews(root, settings);
  state.views.useMethod(state.method);
  followBar();
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

  /** What the instructor shows the class now: {image (784 numbers), target (-1: the predicted class), method,
   * source (in words), shown (its version), at (when this page first showed it)}; null when nothing is shown. */
  get shown() {
    const shown = state.shown;
    return shown && { image: [...shown.image], target: shown.target ?? -1, method: shown.method, source: shown.source,
      shown: shown.shown, at: shown.at ?? null };
  },

  /** What the views show now, if it is an image explained by the page's network: {source ("instructor" or
   * "drawing"), image, target, method (the one drawn: HiResCAM where the chosen one finds no evidence), predicted,
   * probabilities, heatmap}; null when the views are empty. */
  get onScreen() {
    const seen = state.onScreen;
    return seen && { source: state.following && state.shown ? "instructor" : "drawing", image: Array.from(seen.image),
      target: seen.target, method: seen.method, predicted: seen.predicted, probabilities: seen.probabilities,
      heatmap: Array.from(seen.heatmap) };
  },

  /** strokes [[[x, y], ...], ...] in pixels of a width x height canvas -> 784 numbers in [0, 1]. */
  strokesToImage(strokes, width, height) {
    if (!state.settings) throw new Error("the page has not started yet: await window.cnnDemo.ready first");
    return Array.from(strokesToImage(strokes, width, height, state.settings.geometry));
  },
};
