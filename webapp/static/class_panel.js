// The student's side of a class, on the Draw tab of a page opened with ?class=CODE: pick the digit you
// meant, send the 28x28 image the page made of your drawing (the one its network explains) to the class
// wall, see its number there and what the server's model read, and withdraw it if you like.
//
// Gradio mounts it (ui/class_panel.py) and runs the class API's send and withdraw when this module
// triggers them, with the values asked() gives; the server checks every one of them again. Nothing typed
// is ever shown: the code in the link is shown only if it has a class code's shape, the rest are digits.
// The page also follows what the instructor shows everyone (class_follow.js).

import { followClass } from "./class_follow.js";
import { packColours, Picture } from "./pictures.js";

const GREY = packColours(Array.from({ length: 256 }, (_, v) => [v, v, v]));
const DIGITS = 10;

const state = {
  settings: null, events: null, code: null, meant: null, asking: null,
  sent: new Map(), // number -> {meant, predicted, item}: this page's drawings on the wall
  parts: null,
};

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** The class code in the page's link, in capitals; "" if the link holds something else, null if none. */
function linkedCode({ alphabet, code_length: length }) {
  const given = new URLSearchParams(location.search).get("class");
  if (given === null) return null;
  const code = given.replace(/[\s-]/g, "").toUpperCase();
  return new RegExp(`^[${alphabet}]{${length}}$`).test(code) ? code : "";
}

function say(text) {
  state.parts.status.textContent = text;
}

/** The drawing as the page's network sees it (784 numbers), or null when there is none to send. */
function drawing() {
  const page = window.cnnDemoPage;
  const image = page && typeof page.drawingForServer === "function" ? page.drawingForServer() : null;
  return image && image.some((value) => value > 0) ? image : null;
}

function thumbnail(image) {
  const picture = new Picture(28, 28, "class-thumb-pixels");
  image.forEach((value, i) => { picture.words[i] = GREY[Math.floor(Math.min(Math.max(value, 0), 1) * 255)]; });
  picture.show();
  return picture.canvas;
}

function chooseDigit(digit) {
  state.meant = digit;
  for (const button of state.parts.digits) button.setAttribute("aria-pressed", String(Number(button.value) === digit));
  state.parts.send.disabled = state.asking !== null;
}

function send() {
  const image = drawing();
  if (!image) { say("✏️ Draw your digit above first."); return; }
  if (state.meant === null) { say("Which digit did you mean? Pick it first."); return; }
  state.asking = { kind: "send", code: state.code, image, meant: state.meant };
  state.parts.send.disabled = true;
  say("Sending…");
  state.events.send();
}

function withdraw(number) {
  if (state.asking) return;
  state.asking = { kind: "withdraw", code: state.code, number };
  say(`Withdrawing drawing ${number}…`);
  state.events.withdraw();
}

function addSent({ number, predicted }, asked) {
  const button = element("button", { type: "button", class: "class-withdraw" }, ["Withdraw"]);
  button.addEventListener("click", () => withdraw(number));
  const read = predicted === asked.meant ? `the model read it as ${predicted} ✅`
    : `the model read it as ${predicted}, not ${asked.meant} ❌`;
  const item = element("li", { "data-number": String(number) },
    [thumbnail(asked.image), element("span", {}, [`Number ${number}: you meant ${asked.meant}, ${read}`]), button]);
  state.parts.mine.prepend(item);
  state.sent.set(number, { meant: asked.meant, predicted, item });
  state.parts.mineTitle.hidden = false;
  say(`✅ Sent: your drawing is number ${number} on the class wall. ` + (predicted === asked.meant
    ? `The model read it as ${predicted}, as you meant.`
    : `The model read it as ${predicted}, not the ${asked.meant} you meant: look at it on the wall!`));
}

function removeSent(number) {
  state.sent.get(number)?.item.remove();
  state.sent.delete(number);
  state.parts.mineTitle.hidden = state.sent.size === 0;
  say(`Drawing ${number} is withdrawn: it is off the wall and erased.`);
}

window.cnnClassPanel = {
  /** What the event in progress sends (its Gradio event's input). */
  asked() {
    const { kind, ...values } = state.asking ?? {};
    return kind ? values : null;
  },
  /** The server's answer to the event in progress. */
  answered(answer) {
    const asked = state.asking;
    state.asking = null;
    state.parts.send.disabled = state.meant === null;
    if (asked?.kind === "send" && answer && Number.isInteger(answer.number)) addSent(answer, asked);
    if (asked?.kind === "withdraw" && answer && Number.isInteger(answer.withdrawn)) removeSent(answer.withdrawn);
  },
  /** The event was refused: Gradio shows the server's message; the panel is ready again. */
  failed() {
    state.asking = null;
    state.parts.send.disabled = state.meant === null;
    say("");
  },
  /** The numbers this page has on the wall (for tests and tools). */
  get numbers() { return Array.from(state.sent.keys()); },
};

function build(root) {
  const digits = Array.from({ length: DIGITS }, (_, digit) => {
    const button = element("button", { type: "button", class: "class-digit", value: String(digit),
      "aria-pressed": "false", "aria-label": `I meant ${digit}` }, [String(digit)]);
    button.addEventListener("click", () => chooseDigit(digit));
    return button;
  });
  const sendButton = element("button", { type: "button", class: "class-send", disabled: "" },
    ["📤 Send my drawing to the class wall"]);
  sendButton.addEventListener("click", send);
  const status = element("p", { class: "class-status", "aria-live": "polite" });
  const mineTitle = element("p", { class: "class-mine-title", hidden: "" }, ["Your drawings on the wall:"]);
  const mine = element("ul", { class: "class-mine" });
  root.replaceChildren(
    element("p", { class: "class-title" }, ["🏫 Class ", element("b", {}, [state.code])]),
    element("p", { class: "class-ask" }, ["Which digit did you mean?"]),
    element("div", { class: "class-digits", role: "group", "aria-label": "The digit you meant" }, digits),
    sendButton, status, mineTitle, mine);
  state.parts = { digits, send: sendButton, status, mineTitle, mine };
}

export function mountPanel(host, settings, events) {
  const root = host.querySelector(".class-panel") ?? host;
  const code = linkedCode(settings);
  if (code === null) return; // not opened for a class: the panel stays hidden
  const stylesheet = Object.assign(document.createElement("link"),
    { rel: "stylesheet", href: new URL("class.css", import.meta.url).href });
  document.head.append(stylesheet);
  Object.assign(state, { settings, events, code });
  root.hidden = false;
  if (!settings.enabled) {
    root.replaceChildren(element("p", { class: "class-title" },
      ["🏫 Classes are turned off on this server: ask your instructor."]));
  } else if (!code) {
    root.replaceChildren(element("p", { class: "class-title" },
      [`🏫 This link's class code is not a class code (${settings.code_length} letters and digits): `
        + "ask your instructor for the link."]));
  } else {
    build(root);
    followClass(code);
  }
}
