// The arithmetic view of the live panel: click (tap, or Enter on) a tile of the feature maps, or a class's
// bar, and see how that number is computed (arithmetic.js, shown by arithmetic_panels.js) on the student's
// drawing, redrawn at every frame of the pen: the chosen cell stays chosen, its numbers change.
//
// Each tile is a button laid over the maps' canvas: a click picks the cell under the pointer; the keyboard
// picks the map's strongest cell, and the arrow keys move it (so do the panel's arrow buttons, on a phone).
// The panel opens under the row clicked; markers on the tiles show the cell, and the window it reads.

import { arithmetic, layerIndex } from "./arithmetic.js";
import { formatNumber, mapName, PANELS, place, TOP_CONTRIBUTIONS } from "./arithmetic_panels.js";
import { element, setText } from "./dom.js";
import { TILE, tileOrigin } from "./pictures.js";

const ARROWS = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
const MOVES = [["ArrowUp", "↑", "One row up"], ["ArrowLeft", "←", "One column left"],
  ["ArrowRight", "→", "One column right"], ["ArrowDown", "↓", "One row down"]];

const clamp = (value, size) => Math.min(Math.max(value, 0), size - 1);

// Map cells [first, last] -> the tile pixels that show them (pictures.js: tile pixel t shows cell floor(t * n / TILE)).
const tilePixels = ([first, last], cells) =>
  [Math.ceil((first * TILE) / cells), Math.ceil(((last + 1) * TILE) / cells) - 1];

// The cell of a map under a point of its tile (offset of size, in CSS pixels), as pictures.js draws the tile.
const cellAt = (offset, size, cells) => Math.floor((clamp(Math.floor((offset / size) * TILE), TILE) * cells) / TILE);

// A block of tile pixels [rows] x [cols] of one channel's tile, as percentages of the maps' canvas.
function tileBox(picture, channel, [top, bottom], [left, right]) {
  const [x, y] = tileOrigin(picture, channel);
  const { width, height } = picture.canvas;
  return { left: `${((x + left) / width) * 100}%`, top: `${((y + top) / height) * 100}%`,
    width: `${((right - left + 1) / width) * 100}%`, height: `${((bottom - top + 1) / height) * 100}%` };
}

export class ArithmeticView {
  /** ``root``: the live panel, where the announcements go; ``grey``: packColours of the grey scale. */
  constructor(root, grey) {
    this.grey = grey;
    this.selection = null; // {layer, channel, row, col}: for the dense layer, channel is the class
    this.latest = null; // {image, pass} of the last frame; image null while nothing is drawn
    this.layers = new Map();
    this.bars = [];
    this.title = element("h2", { id: "live-arithmetic-title" });
    this.message = element("p", { class: "cnn-arith-message" }, ["✏️ Draw a digit: these numbers follow your pen."]);
    this.body = element("div", { class: "cnn-arith-body" });
    this.moves = element("div", { class: "cnn-arith-moves" }, [
      ...MOVES.map(([key, text, label]) => this.button(text, label, () => this.move(...ARROWS[key]))),
      this.button("Strongest", "The strongest value of this map", () => this.selectStrongest(this.selection))]);
    const close = this.button("✕", "Close the arithmetic view", () => this.close(true));
    this.panel = element("section", { id: "live-arithmetic", class: "cnn-arithmetic", hidden: "",
      "aria-labelledby": this.title.id }, [element("div", { class: "cnn-arith-head" }, [this.title, this.moves, close]),
      this.message, this.body]);
    this.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.close(true);
    });
    // Said once per choice, not at every frame: the numbers themselves are read on demand.
    this.announcer = element("p", { class: "cnn-sr-only", "aria-live": "polite" });
    root.append(this.announcer);
  }

  button(text, label, onClick) {
    const button = element("button", { type: "button", "aria-label": label, title: label }, [text]);
    button.addEventListener("click", onClick);
    return button;
  }

  /** A new model (or the first): a button over every tile, and the class bars (buttons) open the logit's
   * arithmetic. A selection the new model also has is kept. ``layers``: [{name, type, shape, picture, row}];
   * ``bars``: the bars' buttons in class order, in ``barsBlock``. */
  useNetwork(network, layers, bars, barsBlock) {
    const kept = this.selection;
    this.close(false);
    this.network = network;
    this.layers = new Map(layers.map((layer) => [layer.name, { ...layer, ...this.frame(layer) }]));
    this.bars = bars;
    this.barsBlock = barsBlock;
    bars.forEach((bar, unit) => {
      bar.setAttribute("aria-controls", this.panel.id);
      bar.setAttribute("aria-expanded", "false");
      bar.addEventListener("click", () => this.select({ layer: this.denseName(), channel: unit, row: 0, col: 0 }));
    });
    if (kept && this.fits(kept)) this.select(kept);
  }

  denseName() {
    return this.network.layers[this.network.layers.length - 1].name;
  }

  fits({ layer, channel, row, col }) {
    if (layer === this.denseName()) return channel < this.bars.length;
    const maps = this.layers.get(layer);
    return Boolean(maps) && channel < maps.tiles.length && row < maps.height && col < maps.width;
  }

  // The canvas of one layer's maps, in a frame with a button over each tile and a layer for the markers.
  frame({ name, type, shape: [height, width, channels], picture }) {
    const frame = element("div", { class: "cnn-maps-frame" });
    picture.canvas.replaceWith(frame);
    const marks = element("div", { class: "cnn-marks", "aria-hidden": "true" });
    const tiles = Array.from({ length: channels }, (_, channel) => {
      const tile = element("button", { type: "button", class: "cnn-tile", "aria-controls": this.panel.id,
        "aria-expanded": "false", "aria-keyshortcuts": "ArrowUp ArrowDown ArrowLeft ArrowRight",
        "aria-label": `${mapName(name, type, channel)}: how is its value computed?` });
      Object.assign(tile.style, tileBox(picture, channel, [0, TILE - 1], [0, TILE - 1]));
      tile.addEventListener("click", (event) => this.onTile(event, name, channel));
      tile.addEventListener("keydown", (event) => this.onKey(event, name, channel));
      return tile;
    });
    frame.append(picture.canvas, marks, ...tiles);
    return { marks, tiles, height, width };
  }

  /** The button that opens a selection: its map's tile, or its class's bar. */
  opener({ layer, channel }) {
    return layer === this.denseName() ? this.bars[channel] : this.layers.get(layer).tiles[channel];
  }

  buttons() {
    return [...this.bars, ...[...this.layers.values()].flatMap((layer) => layer.tiles)];
  }

  // -- markers on the tiles --------------------------------------------------------------------------------
  mark(name, channel, rows, cols, className) {
    const layer = this.layers.get(name);
    const node = element("span", { class: `cnn-mark ${className}` });
    Object.assign(node.style, tileBox(layer.picture, channel,
      tilePixels(rows.map((row) => clamp(row, layer.height)), layer.height),
      tilePixels(cols.map((col) => clamp(col, layer.width)), layer.width)));
    layer.marks.append(node);
  }

  clearMarks() {
    for (const layer of this.layers.values()) layer.marks.replaceChildren();
    this.marked = null;
  }

  // Redrawn only when what they show changes (``key``), not at every frame.
  markOnce(key, draw) {
    if (this.marked === key) return;
    this.clearMarks();
    this.marked = key;
    draw();
  }

  // The chosen cell on its tile, and the window it reads on the tiles of the layer below (when that is a layer).
  markCell(numbers) {
    const { layer, channel, row, col, input } = numbers;
    this.markOnce(`${layer} ${channel} ${row} ${col}`, () => {
      this.mark(layer, channel, [row, row], [col, col], "cnn-mark-cell");
      if (!this.layers.has(input)) return; // the 28x28 input: the panel's picture outlines it
      const channels = numbers.type === "conv2d" ? numbers.window.map((_, c) => c) : [channel];
      for (const c of channels) this.mark(input, c, numbers.rows, numbers.cols, "cnn-mark-window");
    });
  }

  // The logit's largest contributions, outlined on the tiles they come from: red for, blue against.
  markContributions({ input, contributions }) {
    const terms = contributions.slice(0, TOP_CONTRIBUTIONS);
    this.markOnce(terms.map((term) => `${term.index}${term.product >= 0 ? "+" : "-"}`).join(), () => {
      for (const { channel, row, col, product } of terms) {
        this.mark(input, channel, [row, row], [col, col], product >= 0 ? "cnn-mark-up" : "cnn-mark-down");
      }
    });
  }

  // -- choosing ------------------------------------------------------------------------------------------
  onTile(event, name, channel) {
    if (event.detail === 0) { // the keyboard's Enter or Space: the map's strongest value, unless already on it
      if (this.selection?.layer !== name || this.selection.channel !== channel) {
        this.selectStrongest({ layer: name, channel });
      }
      return;
    }
    const { height, width, tiles } = this.layers.get(name);
    const rect = tiles[channel].getBoundingClientRect();
    this.select({ layer: name, channel, row: cellAt(event.clientY - rect.top, rect.height, height),
      col: cellAt(event.clientX - rect.left, rect.width, width) });
  }

  // On a tile: the arrow keys move the chosen cell in its map (or first choose the map's strongest); Escape closes.
  onKey(event, name, channel) {
    if (event.key === "Escape" && this.selection) this.close(true);
    const step = ARROWS[event.key];
    if (!step) return;
    event.preventDefault(); // the arrows move the cell, not the page
    if (this.selection?.layer === name && this.selection.channel === channel) this.move(...step);
    else this.selectStrongest({ layer: name, channel });
  }

  move(dy, dx) {
    const { layer, channel, row, col } = this.selection;
    const { height, width } = this.layers.get(layer);
    this.select({ layer, channel, row: clamp(row + dy, height), col: clamp(col + dx, width) });
  }

  /** A map's first largest value (its centre while nothing is drawn): where the filter finds its pattern best. */
  selectStrongest({ layer, channel }) {
    const { height, width } = this.layers.get(layer);
    const index = layerIndex(this.network, layer);
    const channels = this.network.layers[index].outputShape[2];
    const values = this.latest?.image ? this.latest.pass.outputs[index] : null;
    let [best, at] = [-Infinity, Math.floor(height / 2) * width + Math.floor(width / 2)];
    for (let cell = 0; values && cell < height * width; cell++) {
      if (values[cell * channels + channel] > best) [best, at] = [values[cell * channels + channel], cell];
    }
    this.select({ layer, channel, row: Math.floor(at / width), col: at % width });
  }

  /** Show how ``selection`` ({layer, channel, row, col}) is computed, under its layer's row (or the bars). */
  select(selection) {
    const { layer, channel } = selection;
    if (this.selection?.layer !== layer || this.selection.channel !== channel) this.shown = null; // a new panel
    this.selection = selection;
    const opener = this.opener(selection);
    for (const button of this.buttons()) button.setAttribute("aria-expanded", String(button === opener));
    const dense = layer === this.denseName();
    (dense ? this.barsBlock : this.layers.get(layer).row).after(this.panel);
    this.panel.hidden = false;
    this.moves.hidden = dense;
    this.render();
    const value = this.numbers ? ` = ${formatNumber(this.numbers.output, 3)}` : "";
    this.announcer.textContent = `${this.title.textContent}${value}`;
  }

  close(returnFocus) {
    const opener = this.selection && this.opener(this.selection);
    this.selection = this.shown = this.numbers = null;
    this.panel.hidden = true;
    this.clearMarks();
    for (const button of this.buttons()) button.setAttribute("aria-expanded", "false");
    if (returnFocus && opener?.isConnected) opener.focus();
  }

  // -- each frame ----------------------------------------------------------------------------------------
  /** The frame's image and forward pass (image null: nothing drawn): the chosen value is computed again. */
  show(image, pass) {
    this.latest = { image, pass };
    if (this.selection) this.render();
  }

  render() {
    const { layer, channel, row, col } = this.selection;
    const type = this.network.layers[layerIndex(this.network, layer)].type;
    setText(this.title, type === "dense" ? `How the score of “${this.network.classNames[channel]}” is computed`
      : `How ${mapName(layer, type, channel)} ${place(row, col)} is computed`);
    const image = this.latest?.image;
    this.message.hidden = Boolean(image);
    this.body.hidden = !image;
    this.numbers = image ? arithmetic(this.network, this.latest.pass, image, layer, channel, row, col) : null;
    if (!this.numbers) {
      this.clearMarks();
      return;
    }
    if (!this.shown) {
      this.shown = PANELS[type](this.numbers, { grey: this.grey, select: (cell) => this.select(cell) });
      this.body.replaceChildren(...this.shown.nodes);
    }
    this.shown.update(this.numbers, image, this.latest.pass.logits);
    if (type === "dense") this.markContributions(this.numbers);
    else this.markCell(this.numbers);
  }
}
