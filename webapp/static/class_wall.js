// The class wall, on the instructor's page (made to be projected): every drawing of the class as a
// thumbnail, grouped by the digit the student meant and framed by whether the model read it right, with
// the counts, the class's accuracy beside the model's on MNIST's test set, and the confusion matrix.
// It follows the class by itself: the server pushes the news that the wall changed (webapp/class_events.py)
// and the page then asks, with the class's token, for what it lacks (ui/pages/instructor.py's events). It also
// says what the class is shown (the instructor's "Show everyone"), with a button to stop, and reads the class's
// digits with the model served now, digit by digit, beside its accuracy on MNIST's test digits.
//
// Neither the instructor key nor a token ever appears in a URL the server sees: the printed link holds
// the key in its fragment (#key=...), an instructor link the class and its token (#class=...&token=...).
// This module reads the fragment, removes it from the address bar (the page is projected), and sends
// them only in the bodies of Gradio's events. The token stays in this tab (sessionStorage), so that a
// reload keeps the wall. Nothing a student sent is shown but digits and pixels.

import { packColours, Picture } from "./pictures.js";

const GREY = packColours(Array.from({ length: 256 }, (_, v) => [v, v, v]));
const DIGITS = 10;
const [MIDDLE_CLASS, LARGE_CLASS] = [150, 500]; // drawings beyond which the thumbnails shrink (class.css)
const REFRESH_GAP_MS = 500;
const REMEMBERED = "cnn-demo class wall"; // sessionStorage: {code, token} of the wall this tab shows
const app = new URL("../../", import.meta.url); // this file is <app>/cnn-demo/static/class_wall.js

const state = {
  root: null, events: null, parts: null, key: null, code: null, token: null, stream: null,
  version: null, have: 0, pixels: new Map(), shown: new Map(), selected: null,
  asking: false, again: false, waiting: null, askedAt: -Infinity,
  shownAt: {}, // number -> Date.now() when it appeared on this wall (the benchmark's delay)
};

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

const percent = (share) => (share === null || share === undefined ? "–" : `${(share * 100).toFixed(1)} %`);
const studentLink = (code) => new URL(`?class=${code}`, app).href;
const instructorLink = (code, token) => new URL(`instructor#class=${code}&token=${encodeURIComponent(token)}`, app).href;

// -- following a class ----------------------------------------------------------------------------
function follow(code, token) {
  clearTimeout(state.waiting);
  Object.assign(state, { code, token, version: null, have: 0, selected: null, waiting: null });
  state.pixels.clear();
  state.shown.clear();
  sessionStorage.setItem(REMEMBERED, JSON.stringify({ code, token }));
  document.documentElement.classList.add("cw-open");
  document.documentElement.classList.remove("cw-inspecting");
  build();
  state.stream?.close();
  state.stream = new EventSource(new URL(`class/${code}/events`, new URL("../", import.meta.url)));
  state.stream.onmessage = (event) => {
    const news = JSON.parse(event.data);
    if (news.ended) ended();
    else if (news.version !== state.version) refresh();
  };
}

/** Ask for the wall: once at a time (news that comes meanwhile asks again when the answer is in), and at most
 * once a REFRESH_GAP_MS, so that a class of hundreds sending at once costs the projecting laptop (and the
 * server) a few updates a second, not one per drawing. */
function refresh() {
  if (state.asking || state.waiting) { state.again = true; return; }
  const wait = state.askedAt + REFRESH_GAP_MS - performance.now();
  if (wait > 0) {
    state.waiting = setTimeout(() => { state.waiting = null; refresh(); }, wait);
    return;
  }
  Object.assign(state, { asking: true, again: false, askedAt: performance.now() });
  state.events.refresh();
}

function answered() {
  state.asking = false;
  if (state.again) { state.again = false; refresh(); }
}

function ended() {
  state.stream?.close();
  sessionStorage.removeItem(REMEMBERED);
  document.documentElement.classList.remove("cw-open", "cw-inspecting");
  idle(`Class ${state.code} has ended: its drawings are erased.`);
  Object.assign(state, { code: null, token: null, stream: null, selected: null });
}

// -- the wall ---------------------------------------------------------------------------------------
function thumbnail(number, meant, predicted, levels) {
  const picture = new Picture(28, 28, "cw-pixels");
  levels.forEach((level, i) => { picture.words[i] = GREY[level]; });
  picture.show();
  const right = meant === predicted;
  const read = right ? `read as ${predicted}` : `misread as ${predicted}`;
  const button = element("button", {
    type: "button", class: `cw-drawing ${right ? "cw-right" : "cw-wrong"}`, "data-number": String(number),
    "data-meant": String(meant), "data-predicted": String(predicted), title: `Drawing ${number}: ${read}`,
    "aria-label": `Drawing ${number}, meant ${meant}, ${read}`,
  }, [picture.canvas, element("span", { class: "cw-number" }, [String(number)]),
    element("span", { class: "cw-verdict", "aria-hidden": "true" }, [right ? "✓" : `→${predicted}`])]);
  button.addEventListener("click", () => inspect(number));
  return button;
}

const decode = (base64) => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));

function show(update) {
  if (!state.parts || update.code !== state.code) return;
  for (const [number, levels] of Object.entries(update.pixels)) {
    state.pixels.set(Number(number), decode(levels));
    state.have = Math.max(state.have, Number(number));
  }
  const listed = new Set();
  const now = Date.now();
  for (const [number, meant, predicted] of update.drawings) {
    listed.add(number);
    if (state.shown.has(number) || !state.pixels.has(number)) continue;
    const thumb = thumbnail(number, meant, predicted, state.pixels.get(number));
    state.parts.groups[meant].thumbs.append(thumb); // numbers only grow: the newest go last
    state.shown.set(number, { meant, predicted, thumb });
    state.shownAt[number] = now;
  }
  for (const [number, { thumb }] of state.shown) {
    if (listed.has(number)) continue;
    thumb.remove();
    state.shown.delete(number);
    state.pixels.delete(number);
    if (state.selected === number) closeInspector();
  }
  state.version = update.version;
  counts(update);
  showing(update.shown);
  perDigit(update.per_digit);
}

/** What the class is shown now (null: nothing), and its drawing marked on the wall. */
function showing(shown) {
  const { showing: line } = state.parts;
  line.hidden = !shown;
  state.parts.root.querySelector(".cw-shown")?.classList.remove("cw-shown");
  if (!shown) return;
  const target = shown.target < 0 ? "the predicted class" : `class ${shown.target}`;
  const stop = element("button", { type: "button", class: "cw-tool" }, ["⏹️ Stop showing"]);
  stop.addEventListener("click", () => state.events.stop());
  line.replaceChildren(element("span", {}, [element("b", {}, ["📽️ Everyone sees "]),
    `${shown.source}: the heatmap of ${target} by ${shown.method}. `]), stop);
  if (shown.number !== null) state.shown.get(shown.number)?.thumb.classList.add("cw-shown");
}

/** Per digit: the drawings, how many the served model reads right now, and its accuracy on MNIST's test digits. */
function perDigit({ drawings, read_right: right, mnist }) {
  state.parts.perDigit.forEach((cells, digit) => {
    cells[0].textContent = String(drawings[digit]);
    cells[1].textContent = drawings[digit] ? `${right[digit]} · ${percent(right[digit] / drawings[digit])}` : "–";
    cells[2].textContent = percent(mnist[digit]);
    const gap = drawings[digit] ? mnist[digit] - right[digit] / drawings[digit] : 0;
    cells[1].classList.toggle("cw-shifted", gap > 0.1); // far below MNIST's: the data has moved
  });
}

function counts(update) {
  const { groups, summary, confusion } = state.parts;
  const perDigit = Array.from({ length: DIGITS }, () => ({ all: 0, right: 0 }));
  for (const { meant, predicted } of state.shown.values()) {
    perDigit[meant].all += 1;
    perDigit[meant].right += Number(meant === predicted);
  }
  perDigit.forEach(({ all, right }, digit) => {
    groups[digit].count.textContent = all ? `${all} · ${right} read right` : "none yet";
    groups[digit].row.classList.toggle("cw-all-right", all > 0 && right === all);
  });
  const total = update.drawings.length;
  // Hundreds of drawings still fit on a projected screen or two: the thumbnails shrink as the class grows.
  state.parts.wall.dataset.size = total > LARGE_CLASS ? "small" : total > MIDDLE_CLASS ? "medium" : "large";
  summary.textContent = `${total} drawing${total === 1 ? "" : "s"} · the model reads the class's digits: `
    + `${percent(update.accuracy)} · MNIST's test digits: ${percent(update.model_accuracy)}`;
  update.confusion.forEach((row, meant) => row.forEach((count, predicted) => {
    const cell = confusion[meant][predicted];
    cell.textContent = count ? String(count) : "";
    cell.style.setProperty("--share", total ? String(Math.min(1, 4 * count / total)) : "0");
  }));
}

// -- clicking a drawing -----------------------------------------------------------------------------
function inspect(number) {
  state.parts.root.querySelector(".cw-selected")?.classList.remove("cw-selected");
  state.shown.get(number)?.thumb.classList.add("cw-selected");
  state.selected = number;
  document.documentElement.classList.add("cw-inspecting");
  state.events.inspect();
}

function closeInspector() {
  state.selected = null;
  document.documentElement.classList.remove("cw-inspecting");
}

// -- building the page ------------------------------------------------------------------------------
function idle(text) {
  const lines = [element("p", { class: "cw-idle" }, [text])];
  if (state.key) lines.push(element("p", { class: "cw-idle" }, ["🔑 The instructor key from your link is ready: press ",
    element("b", {}, ["Open a class"]), "."]));
  state.root.replaceChildren(...lines);
  state.parts = null;
}

/** A button that copies ``text()``; where the page may not write the clipboard (plain http on a network,
 * not localhost), the browser's own dialog shows the text to copy. */
function copyButton(label, text) {
  const button = element("button", { type: "button", class: "cw-tool" }, [label]);
  button.addEventListener("click", async () => {
    const copied = window.isSecureContext && navigator.clipboard
      ? await navigator.clipboard.writeText(text()).then(() => true, () => false) : false;
    if (!copied) { window.prompt("Copy this link:", text()); return; }
    button.textContent = "Copied ✓";
    setTimeout(() => { button.textContent = label; }, 2000);
  });
  return button;
}

function endButton() {
  const end = element("button", { type: "button", class: "cw-tool cw-end" }, ["End the class…"]);
  const sure = element("span", { class: "cw-confirm", hidden: "" }, [
    `End class ${state.code} and erase all its drawings? `]);
  const yes = element("button", { type: "button", class: "cw-tool cw-end" }, ["Yes, end it"]);
  const no = element("button", { type: "button", class: "cw-tool" }, ["Keep it"]);
  sure.append(yes, no);
  end.addEventListener("click", () => { sure.hidden = false; end.hidden = true; });
  no.addEventListener("click", () => { sure.hidden = true; end.hidden = false; });
  yes.addEventListener("click", () => state.events.end());
  return [end, sure];
}

function build() {
  const code = state.code;
  const wrongOnly = element("input", { type: "checkbox", id: "cw-wrong-only" });
  const wall = element("div", { class: "cw-groups" });
  wrongOnly.addEventListener("change", () => wall.classList.toggle("cw-wrong-only", wrongOnly.checked));
  const groups = Array.from({ length: DIGITS }, (_, digit) => {
    const count = element("span", { class: "cw-count" }, ["none yet"]);
    const thumbs = element("div", { class: "cw-thumbs" });
    const row = element("section", { class: "cw-group", "data-digit": String(digit),
      "aria-label": `Drawings of a ${digit}` }, [element("div", { class: "cw-digit" }, [String(digit)]), count, thumbs]);
    wall.append(row);
    return { row, count, thumbs };
  });
  const head = element("tr", {}, [element("th", {}, ["meant \\ read"]),
    ...Array.from({ length: DIGITS }, (_, d) => element("th", { scope: "col" }, [String(d)]))]);
  const confusion = [];
  const rows = Array.from({ length: DIGITS }, (_, meant) => {
    confusion[meant] = Array.from({ length: DIGITS }, (_, read) =>
      element("td", { class: meant === read ? "cw-diagonal" : "cw-off" }));
    return element("tr", {}, [element("th", { scope: "row" }, [String(meant)]), ...confusion[meant]]);
  });
  const summary = element("p", { class: "cw-summary", "aria-live": "polite" }, ["Waiting for the first drawing…"]);
  const showingLine = element("p", { class: "cw-showing", hidden: "" });
  const perDigitCells = Array.from({ length: DIGITS }, () => Array.from({ length: 3 }, () => element("td")));
  const perDigitTable = element("table", { class: "cw-per-digit" }, [
    element("thead", {}, [element("tr", {}, ["digit meant", "drawings", "read right by the served model",
      "its accuracy on MNIST's test digits"].map((text) => element("th", { scope: "col" }, [text])))]),
    element("tbody", {}, perDigitCells.map((cells, digit) =>
      element("tr", {}, [element("th", { scope: "row" }, [String(digit)]), ...cells])))]);
  state.root.replaceChildren(
    element("div", { class: "cw-head" }, [
      element("div", { class: "cw-join" }, [
        element("p", {}, [element("span", { class: "cw-caption" }, ["Class code"]),
          element("b", { class: "cw-code" }, [code])]),
        element("p", {}, [element("span", { class: "cw-caption" }, ["Students open"]),
          element("b", { class: "cw-link" }, [studentLink(code)])])]),
      summary, showingLine,
      element("div", { class: "cw-tools" }, [
        element("label", { class: "cw-tool" }, [wrongOnly, " Only the ones it got wrong"]),
        copyButton("📋 Copy the students' link", () => studentLink(code)),
        copyButton("🔑 Copy this wall's instructor link (keep it private)", () => instructorLink(code, state.token)),
        ...endButton()])]),
    wall,
    element("details", { class: "cw-matrix", open: "" }, [
      element("summary", {}, ["Confusion matrix: the digit meant (rows) against the digit the model read (columns)"]),
      element("table", { class: "cw-confusion" }, [element("thead", {}, [head]), element("tbody", {}, rows)])]),
    element("details", { class: "cw-matrix", open: "" }, [
      element("summary", {}, ["The class's digits read by the model served now, beside MNIST's test digits"]),
      perDigitTable]));
  state.parts = { root: state.root, wall, groups, summary, confusion, showing: showingLine,
    perDigit: perDigitCells };
}

// -- Gradio's side ------------------------------------------------------------------------------------
window.cnnClassWall = {
  /** What this page's events send: the class, its token, the drawings it has, the one clicked. */
  asked: () => ({ code: state.code, token: state.token, have: state.have, number: state.selected }),
  /** The instructor key from the printed link, for "Open a class" when nothing is typed. */
  keyFromLink: () => state.key ?? "",
  opened: (opened) => { if (opened?.code && opened?.token) follow(opened.code, opened.token); },
  updated: (update) => { answered(); if (update) show(update); },
  refused: () => answered(),
  hidden: (answer) => { if (answer && state.selected === answer.hidden) closeInspector(); refresh(); },
  ended: (answer) => { if (answer?.ended === state.code) ended(); },
  shownAt: state.shownAt,
};

function fromFragment() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (!location.hash) return null;
  history.replaceState(null, "", location.pathname + location.search); // off the projected address bar
  state.key = fragment.get("key");
  const [code, token] = [fragment.get("class"), fragment.get("token")];
  return code && token ? { code: code.toUpperCase(), token } : null;
}

export function mountWall(host, settings, events) {
  state.root = host.querySelector(".cw-wall") ?? host;
  state.events = events;
  const stylesheet = Object.assign(document.createElement("link"),
    { rel: "stylesheet", href: new URL("class.css", import.meta.url).href });
  document.head.append(stylesheet);
  if (!settings.enabled) return;
  const linked = fromFragment();
  const remembered = JSON.parse(sessionStorage.getItem(REMEMBERED) || "null");
  const wall = linked ?? remembered;
  if (wall) follow(wall.code, wall.token);
  else idle("No class is open on this page: open one with the instructor key, or follow a wall's instructor link.");
}
