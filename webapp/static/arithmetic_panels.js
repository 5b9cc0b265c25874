// What the arithmetic view shows for each kind of layer (arithmetic_view.js chooses the value): the numbers
// of arithmetic.js as tables and one equation, after CNN Explainer's convolution, pooling and softmax views.
//
//   conv:  the input window of every channel, x the kernel's slice = the products, each channel's sum;
//          then sum + bias = the value before ReLU -> after ReLU
//   pool:  the window, its winner outlined, and a button to the conv value that won
//   dense: the largest activation x weight terms, the others' sum, the bias = the logit -> softmax
//
// Each panel is built once per chosen map (or class) and its numbers rewritten at every frame of the pen.

import { element, setText } from "./dom.js";
import { softmax } from "./network.js";
import { paintValues, Picture } from "./pictures.js";

export const TOP_CONTRIBUTIONS = 10;
const MINUS = "\u2212";
const RED = [214, 39, 40]; // matplotlib's tab:red and tab:blue: positive and negative, as in the filter figures
const BLUE = [31, 119, 180];

/** A number as the panel writes it: ``digits`` decimals, a true minus sign, and 0 for exactly zero. */
export function formatNumber(value, digits) {
  if (value === 0) return "0";
  const text = Math.abs(value).toFixed(digits);
  return value < 0 ? `${MINUS}${text}` : text;
}

export const place = (row, col) => `(row ${row}, col ${col})`;
export const mapName = (layer, type, channel) => `${layer} ${type === "conv2d" ? "filter" : "map"} #${channel}`;

// -- colours: a cell's background says its value, its text stays readable on it -----------------------------
// Each scale is a table of LEVELS + 1 colours made once, as pictures.js's are: a cell's colour is a look-up.
const LEVELS = 32;

// WCAG's relative luminance: black text above 0.179, white below, is at least 4.58:1 on any background.
function luminance(rgb) {
  const [r, g, b] = rgb.map((c) => (c / 255 <= 0.04045 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function scale(colourAt) {
  return Array.from({ length: LEVELS + 1 }, (_, level) => {
    const rgb = colourAt(level / LEVELS);
    return `background: rgb(${rgb.join(", ")}); color: ${luminance(rgb) > 0.179 ? "#000" : "#fff"}`;
  });
}

const mix = (colour, t) => colour.map((c) => Math.round(255 + (c - 255) * t));
const [REDS, BLUES] = [scale((t) => mix(RED, t)), scale((t) => mix(BLUE, t))];
const GREYS = scale((t) => Array(3).fill(Math.round(255 * t))); // as the model sees its input: white ink on black
const level = (fraction) => Math.round(Math.min(Math.max(fraction, 0), 1) * LEVELS);
const signedColour = (value, largest) => (value >= 0 ? REDS : BLUES)[level(Math.abs(value) / largest)];
const greyColour = (value, largest) => GREYS[level(value / largest)];
const largest = (values) => Math.max(...values.flat(2).map(Math.abs), 1e-12);

// A cell's text and colours, written only when they change: a few hundred cells at every frame of the pen, each
// with one text node (its data rewritten, not the node replaced) and one style attribute.
function paintCell(cell, text, colour) {
  const written = cell.firstChild ?? cell.appendChild(document.createTextNode(""));
  if (written.data !== text) written.data = text;
  if (cell.colour === colour) return;
  cell.colour = colour;
  cell.style.cssText = colour;
}

// -- pieces ---------------------------------------------------------------------------------------------
const span = (className) => element("span", { class: className });
const spans = (...names) => names.map((name) => span(`cnn-arith-${name}`));

/** A rows x cols table of numbers under a caption: {table, caption, cells[row][col]}. */
function numberGrid(rows, cols, text) {
  const cells = Array.from({ length: rows }, () => Array.from({ length: cols }, () => element("td")));
  const caption = element("caption", {}, [text]);
  const table = element("table", { class: "cnn-arith-grid" }, [caption,
    element("tbody", {}, cells.map((row) => element("tr", {}, row)))]);
  return { table, caption, cells };
}

function fillGrid(grid, values, colour, digits = 2) {
  values.forEach((row, y) => row.forEach((value, x) =>
    paintCell(grid.cells[y][x], formatNumber(value, digits), colour(value))));
}

/** The 28x28 input with the pixels a value depends on (its receptive field) outlined. */
class FieldPicture {
  constructor(grey) {
    this.grey = grey;
    this.picture = new Picture(28, 28, "cnn-arith-input");
    this.box = span("cnn-arith-field");
    this.caption = element("figcaption");
    this.node = element("figure", { class: "cnn-arith-where" }, [
      element("div", { class: "cnn-arith-frame" }, [this.picture.canvas, this.box]), this.caption]);
  }

  show(image, { top, bottom, left, right }) {
    paintValues(this.picture, image, this.grey);
    const percent = (pixels) => `${(pixels / 28) * 100}%`;
    Object.assign(this.box.style, { top: percent(top), left: percent(left), height: percent(bottom - top + 1),
      width: percent(right - left + 1) });
    setText(this.caption, `Where it looks: rows ${top}–${bottom}, columns ${left}–${right} of the 28x28 input`);
  }
}

const introduction = (field, text) => element("div", { class: "cnn-arith-top" }, [field.node, element("p", {}, text)]);

// -- one panel per kind of layer: (first numbers, {grey, select}) -> {nodes, update(numbers, image, logits)} --------
function convPanel(first, { grey }) {
  const field = new FieldPicture(grey);
  const [kh, kw] = [first.kernel[0].length, first.kernel[0][0].length];
  const fromInput = first.input === "input";
  const channels = first.window.map((_, c) => {
    const grids = [numberGrid(kh, kw, fromInput ? "input pixels" : `${first.input} map #${c}`),
      numberGrid(kh, kw, `× kernel [:, :, ${c}]`), numberGrid(kh, kw, "= products")];
    const subtotal = span("cnn-arith-subtotal");
    return { node: element("div", { class: "cnn-arith-channel" }, [...grids.map((g) => g.table), subtotal]),
      grids, subtotal };
  });
  const count = first.window.length * kh * kw;
  const [sum, bias, pre, out] = spans("sum", "bias", "pre", "out");
  const activation = first.activation === "relu" ? "ReLU" : first.activation;
  const text = [`Each value of ${first.layer} is a weighted sum: its ${kh}x${kw} filter slides over `,
    fromInput ? "the input" : `all ${first.window.length} maps of ${first.input}`,
    `; here it multiplies the ${count} numbers under it by its weights, adds them up, adds its bias, `,
    "and ReLU keeps the result if it is positive (else 0). Dashed cells: the zero padding beyond the edge."];
  const equation = element("p", { class: "cnn-arith-equation" }, [`sum of the ${count} products = `, sum,
    " + bias ", bias, " = ", pre, ` → ${activation} → `, out]);
  let padding = "";
  const showPadding = (padded) => { // the window's cells beyond the edge: they change only with the place
    if (String(padded) === padding) return;
    padding = String(padded);
    for (const { grids: [window, , products] } of channels) {
      padded.forEach((row, y) => row.forEach((isPad, x) => {
        window.cells[y][x].classList.toggle("cnn-pad", isPad);
        products.cells[y][x].classList.toggle("cnn-pad", isPad);
      }));
    }
  };
  const update = (numbers, image) => {
    field.show(image, numbers.field);
    showPadding(numbers.padded);
    const scales = [fromInput ? 1 : largest(numbers.window), largest(numbers.kernel), largest(numbers.products)];
    const colours = [(v) => greyColour(v, scales[0]), (v) => signedColour(v, scales[1]),
      (v) => signedColour(v, scales[2])];
    channels.forEach(({ grids, subtotal }, c) => {
      [numbers.window, numbers.kernel, numbers.products].forEach((values, g) =>
        fillGrid(grids[g], values[c], colours[g]));
      setText(subtotal, `Σ ${formatNumber(numbers.channelSums[c], 3)}`);
    });
    [[sum, numbers.sum], [bias, numbers.bias], [pre, numbers.preActivation], [out, numbers.output]]
      .forEach(([node, value]) => setText(node, formatNumber(value, 3)));
  };
  return { nodes: [introduction(field, text), equation,
    element("div", { class: "cnn-arith-channels" }, channels.map((c) => c.node))], update };
}

function poolPanel(first, { grey, select }) {
  const field = new FieldPicture(grey);
  const [ph, pw] = [first.window.length, first.window[0].length];
  const window = numberGrid(ph, pw, "");
  window.table.classList.add("cnn-arith-pool");
  const [out, winner, ties] = spans("out", "winner", "ties");
  const trace = element("button", { type: "button", class: "cnn-arith-trace" });
  const winnerCell = (numbers) => ({ layer: numbers.input, channel: numbers.channel,
    row: numbers.rows[0] + numbers.winner[0], col: numbers.cols[0] + numbers.winner[1] });
  let shown = first;
  trace.addEventListener("click", () => select(winnerCell(shown)));
  const text = [`Max-pooling keeps the largest value of each ${ph}x${pw} window of ${first.input}: the map gets `,
    `${ph * pw} times smaller, and only the winner passes on (and only it gets the gradient Grad-CAM sends back).`];
  const result = element("p", { class: "cnn-arith-equation" }, ["max = ", out, ": ", winner, ties]);
  const update = (numbers, image) => {
    shown = numbers;
    field.show(image, numbers.field);
    setText(window.caption, `${numbers.input} map #${numbers.channel}, rows ${numbers.rows.join("–")}, `
      + `columns ${numbers.cols.join("–")}`);
    const scale = largest(numbers.window);
    fillGrid(window, numbers.window, (v) => greyColour(v, scale), 3);
    window.cells.flat().forEach((cell, i) => cell.classList.toggle("cnn-winner",
      i === numbers.winner[0] * pw + numbers.winner[1]));
    const { row, col } = winnerCell(numbers);
    setText(out, formatNumber(numbers.output, 3));
    setText(winner, `the value at ${place(row, col)} of ${numbers.input} won.`);
    setText(ties, numbers.tied > 1 ? ` ${numbers.tied} values are equal: the first, in reading order, is taken.` : "");
    setText(trace, `How was ${formatNumber(numbers.output, 3)} computed? Show `
      + `${mapName(numbers.input, "conv2d", numbers.channel)} ${place(row, col)}`);
  };
  return { nodes: [introduction(field, text), window.table, result, trace], update };
}

function densePanel(first, { select }) {
  const inputs = first.contributions.length;
  const rows = Array.from({ length: Math.min(TOP_CONTRIBUTIONS, inputs) }, () => {
    const cell = element("button", { type: "button", class: "cnn-arith-trace" });
    const numbers = [element("td"), element("td"), element("td")];
    return { node: element("tr", {}, [element("td", {}, [cell]), ...numbers]), cell, numbers };
  });
  const headings = [`${first.input}: map (row, col)`, "activation", "× weight", "= contribution"];
  const table = element("table", { class: "cnn-arith-contributions" }, [
    element("caption", {}, [`The ${rows.length} largest contributions`]),
    element("thead", {}, [element("tr", {}, headings.map((text) => element("th", { scope: "col" }, [text])))]),
    element("tbody", {}, rows.map((row) => row.node))]);
  let shown = first;
  rows.forEach(({ cell }, i) => cell.addEventListener("click", () => {
    const { channel, row, col } = shown.contributions[i];
    select({ layer: first.input, channel, row, col });
  }));
  const lead = element("p", {}, [`The score (logit) of “${first.className}” is a weighted sum of the ${inputs} `,
    `values of ${first.input}: each activation times its weight for this class, plus the class's bias. Red pushes `,
    "the score up, blue pulls it down; softmax turns the ten scores into probabilities. Outlined on ",
    `${first.input}'s maps below: the cells listed here.`]);
  const [top, rest, bias, logit, probability, active] =
    spans("top-sum", "rest", "bias", "out", "probability", "active");
  const equation = element("p", { class: "cnn-arith-equation" }, ["these: ", top,
    ` + the other ${inputs - rows.length} values: `, rest, " + bias ", bias, " = logit ", logit, " → softmax → ",
    probability, " ", active]);
  const update = (numbers, image, logits) => {
    shown = numbers;
    const terms = numbers.contributions.slice(0, rows.length);
    const scale = largest(terms.map((term) => term.product));
    rows.forEach(({ cell, numbers: [activation, weight, product] }, i) => {
      setText(cell, `#${terms[i].channel} (${terms[i].row}, ${terms[i].col})`);
      setText(activation, formatNumber(terms[i].activation, 3));
      setText(weight, formatNumber(terms[i].weight, 3));
      paintCell(product, formatNumber(terms[i].product, 3), signedColour(terms[i].product, scale));
    });
    const topSum = terms.reduce((total, term) => total + term.product, 0);
    [[top, topSum], [rest, numbers.sum - topSum], [bias, numbers.bias], [logit, numbers.output]]
      .forEach(([node, value]) => setText(node, formatNumber(value, 3)));
    setText(probability, `${(softmax(Array.from(logits))[numbers.channel] * 100).toFixed(1)}%`);
    setText(active, `(${numbers.active} of the ${inputs} values are not 0)`);
  };
  return { nodes: [lead, table, equation], update };
}

/** The panel of each kind of layer. */
export const PANELS = { conv2d: convPanel, max_pool2d: poolPanel, dense: densePanel };
