// The live panel beside the canvas: the prediction, the class probabilities, what the model sees,
// the heatmap over it, and every layer's feature maps, redrawn at every animation frame of a stroke
// (the pictures themselves: pictures.js). A click on a feature map or a class's bar opens the arithmetic
// view of that number (arithmetic_view.js).

import { ArithmeticView } from "./arithmetic_view.js";
import { element, setText } from "./dom.js";
import { mapsPicture, packColours, paintMaps, paintValues, Picture } from "./pictures.js";

export const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const percent = (probability) => `${(probability * 100).toFixed(1)}%`;
const SPEAK_AFTER_MS = 600; // a pause in the drawing: long enough not to interrupt a stroke's every frame

export class LiveViews {
  constructor(root, settings) {
    this.settings = settings;
    this.grey = packColours(Array.from({ length: 256 }, (_, v) => [v, v, v]));
    this.featureColours = packColours(settings.feature_lut);
    this.heatmapColours = packColours(settings.heatmap_lut);
    this.notice = element("p", { class: "cnn-notice", hidden: "", "aria-live": "polite" }); // a new model, say
    // What the instructor shows everyone, and the way to one's own drawing and back (follow()).
    this.followed = element("div", { class: "cnn-follow", hidden: "", role: "status" });
    // The status changes at every frame of a stroke: a screen reader hears the prediction from a polite live
    // region instead, once the pen has rested (SPEAK_AFTER_MS).
    this.status = element("p", { id: "live-status", class: "cnn-status" });
    this.spoken = element("p", { id: "live-announcement", class: "cnn-sr-only", "aria-live": "polite" });
    this.prediction = [element("b"), document.createTextNode(""), element("span")];
    this.input = new Picture(28, 28, "cnn-input");
    this.digit = new Picture(28, 28, "cnn-input"); // under the heatmap
    this.heatmap = new Picture(28, 28, "cnn-heatmap");
    this.probabilities = element("div", { id: "live-probabilities", class: "cnn-probabilities" });
    this.layers = element("div", { id: "live-layers", class: "cnn-layers" });
    const legend = element("span", { class: "cnn-legend" });
    legend.style.background = `linear-gradient(90deg, ${this.gradientStops(settings.heatmap_lut)})`;
    const views = element("div", { class: "cnn-views" }, [
      element("figure", { id: "live-input" }, [this.caption("<b>What the model sees</b> (28x28)"), this.input.canvas]),
      element("figure", { id: "live-heatmap" }, [this.caption("<b>Heatmap</b> "),
        element("div", { class: "cnn-overlay" }, [this.digit.canvas, this.heatmap.canvas])]),
    ]);
    this.method = element("span", { class: "cnn-method" });
    views.querySelector("#live-heatmap figcaption").append("(", this.method, "): weak ", legend, " strong evidence");
    // Its data-* attributes say what it shows (dataset, model, predicted class), for tests and tools.
    this.root = element("div", { class: "cnn-live" }, [this.followed, this.notice, this.status, this.spoken, views,
      this.probabilities, this.layers]);
    root.replaceChildren(this.root);
    this.arithmetic = new ArithmeticView(this.root, this.grey);
  }

  caption(html) {
    const caption = element("figcaption");
    caption.innerHTML = html;
    return caption;
  }

  gradientStops(lut) {
    const stops = [0, 0.2, 0.4, 0.6, 0.8, 1].map((at) => lut[Math.round(at * (lut.length - 1))]);
    return stops.map(([r, g, b]) => `rgb(${r}, ${g}, ${b})`).join(", ");
  }

  /** Rebuild the rows that depend on the model: its classes and its layers. */
  useNetwork(network, featureLayers) {
    this.root.dataset.dataset = network.dataset;
    this.root.dataset.modelId = network.modelId;
    this.bars = network.classNames.map((name) => {
      const fill = element("span", { class: "cnn-bar-fill" });
      const value = element("span", { class: "cnn-bar-value" }, ["0%"]);
      const label = element("span", { class: "cnn-bar-label" }, [name]);
      const row = element("button", { type: "button", class: "cnn-bar" }, [label,
        element("span", { class: "cnn-bar-track" }, [fill]), value]);
      return { row, fill, value };
    });
    this.probabilities.replaceChildren(element("p", {}, [element("b", {}, ["Class probabilities"]),
      " (click a class: how is its score computed?)"]),
      ...this.bars.map((bar) => bar.row));
    this.maps = featureLayers.map(({ shape: [, , channels] }) => mapsPicture(channels));
    const rows = featureLayers.map(({ name, shape: [height, width] }, index) => element("div", { class: "cnn-layer" }, [
      element("div", { class: "cnn-layer-label" }, [element("b", {}, [name]), element("br"), `${height}x${width}`]),
      this.maps[index].canvas]));
    const heading = element("p", {}, [element("b", {}, ["Feature maps of every layer"]),
      ": bright where a filter finds its pattern; each map scaled to its own maximum. Click a map (or Enter on it, ",
      "then the arrow keys) to see how one of its values is computed."]);
    this.layers.replaceChildren(heading, ...rows);
    this.arithmetic.useNetwork(network, featureLayers.map((layer, index) => ({ ...layer, picture: this.maps[index],
      row: rows[index] })), this.bars.map((bar) => bar.row), this.probabilities);
  }

  /** The CAM method of the heatmap shown, named above it. */
  useMethod(name) {
    setText(this.method, name);
  }

  /** Tell a screen reader ``text`` once the views have stopped changing for a moment (only the last). */
  speak(text) {
    clearTimeout(this.speaking);
    this.speaking = setTimeout(() => setText(this.spoken, text), SPEAK_AFTER_MS);
  }

  /** A message instead of a prediction. */
  say(html) {
    if (this.said === html) return; // reading innerHTML back would serialize it at every frame
    this.said = html;
    this.status.innerHTML = html;
  }

  /** "Prediction: name (sure% sure). reason": what changes at every frame is text, not HTML to parse. */
  sayPrediction(name, sure, reasonHtml) {
    const [predicted, certainty, reason] = this.prediction;
    if (this.said !== this.prediction) {
      this.said = this.prediction;
      this.status.replaceChildren(predicted, certainty, reason);
      this.reason = null;
    }
    setText(predicted, `Prediction: ${name}`);
    setText(certainty, ` (${sure}% sure). `);
    this.speak(`Prediction: ${name}, ${Math.round(Number(sure))}% sure.`);
    if (this.reason !== reasonHtml) {
      this.reason = reasonHtml;
      reason.innerHTML = reasonHtml;
    }
  }

  /** The bar that says what the instructor shows (null: nothing): {following, source, target, method} in
   * words, and a button to step back to one's own drawing (stepAway) or to rejoin the instructor (rejoin). */
  follow(shown) {
    this.followed.hidden = !shown;
    if (!shown) return;
    const [label, act] = shown.following ? ["✏️ Back to my drawing", shown.stepAway]
      : ["📽️ Rejoin the instructor's view", shown.rejoin];
    const button = element("button", { type: "button", class: "cnn-follow-button" }, [label]);
    button.addEventListener("click", act);
    const what = shown.following
      ? [element("b", {}, ["📽️ The instructor shows everyone "]), shown.source, ": the heatmap of ",
        element("b", {}, [shown.target]), " by ", element("b", {}, [shown.method]), "."]
      : ["📽️ The instructor is showing ", shown.source, ". You are looking at your own drawing."];
    this.followed.replaceChildren(element("p", {}, what), button);
  }

  announce(html) {
    this.notice.innerHTML = html;
    this.notice.hidden = !html;
  }

  /** Nothing to explain: grey pictures, empty bars, and why. */
  empty(message) {
    this.say(message);
    this.speak(this.status.textContent);
    for (const picture of [this.input, this.digit, this.heatmap, ...(this.maps ?? [])]) picture.blank();
    for (const bar of this.bars ?? []) this.setBar(bar, 0, false);
    delete this.root.dataset.predicted;
    this.arithmetic.show(null, null);
  }

  setBar(bar, probability, top) {
    const text = percent(probability);
    if (bar.value.textContent === text && bar.top === top) return; // most bars stay as they were
    bar.fill.style.width = text;
    bar.value.textContent = text;
    bar.top = top;
    bar.row.classList.toggle("cnn-top", top);
  }

  /** One frame: the image, its explanation (probabilities, predicted), the heatmap shown, the layers. */
  show(image, result, heatmap, featureLayers) {
    this.root.dataset.predicted = result.predicted;
    result.probabilities.forEach((p, i) => this.setBar(this.bars[i], p, i === result.predicted));
    paintValues(this.input, image, this.grey);
    paintValues(this.digit, image, this.grey);
    paintValues(this.heatmap, heatmap, this.heatmapColours);
    featureLayers.forEach((layer, index) => paintMaps(this.maps[index], layer, this.featureColours));
    this.arithmetic.show(image, result.pass);
  }
}
