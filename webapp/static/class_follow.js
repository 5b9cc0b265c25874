// A student's page follows what the instructor shows everyone (a page opened with ?class=CODE): the class's
// stream (webapp/class_events.py) says what is shown now when the page opens it, then at every change: the
// image as 784 numbers, the target class and the method, where the image comes from. The page's own network
// explains it (cnn_demo.js), on the Draw tab, which a newly shown image brings into view: the instructor
// says "look at this one", and every screen shows it.

import { showInstructors } from "./cnn_demo.js";

const GRAD_CAM_TAB = "Grad-CAM";
const DRAW_TAB = "✏️ Draw";

function tab(name) {
  return Array.from(document.querySelectorAll('[role="tab"]')).find((button) => button.textContent.trim() === name);
}

function select(name) {
  const button = tab(name);
  if (button && button.getAttribute("aria-selected") !== "true") button.click();
}

const STILL_FRAMES = 8; // the bar has stayed put this many frames: the tabs have finished rendering
const SETTLE_MS = 3000; // at most: a page still loading keeps moving its parts

/** Scroll ``element`` to the top of the screen once the layout around it has settled (a tab just chosen renders
 * over a few frames; a page just opened loads its parts above it), unless the student scrolls first. */
function scrollWhenSettled(element) {
  const until = performance.now() + SETTLE_MS;
  let [last, still] = [null, 0];
  const studentMoved = new AbortController(); // the student scrolled: their choice wins
  for (const name of ["wheel", "touchstart", "keydown"]) {
    window.addEventListener(name, () => studentMoved.abort(), { once: true, passive: true, signal: studentMoved.signal });
  }
  const frame = () => {
    if (studentMoved.signal.aborted) return;
    const top = element.offsetParent === null ? null : element.getBoundingClientRect().top + window.scrollY;
    still = top !== null && top === last ? still + 1 : 0;
    last = top;
    if (still >= STILL_FRAMES || (top !== null && performance.now() > until)) {
      element.scrollIntoView({ block: "start" });
      studentMoved.abort(); // done: the listeners go
    } else if (performance.now() <= until) {
      requestAnimationFrame(frame);
    } else {
      studentMoved.abort();
    }
  };
  requestAnimationFrame(frame);
}

/** The Grad-CAM tab, its Draw tab, and the bar that says what is shown, in sight. */
function bringIntoView() {
  select(GRAD_CAM_TAB);
  requestAnimationFrame(() => {
    select(DRAW_TAB); // rendered once its tab is
    const bar = document.querySelector(".cnn-follow");
    if (bar) scrollWhenSettled(bar);
  });
}

/** Follow class ``code``'s stream of what it is shown, until the class ends. */
export function followClass(code) {
  const stream = new EventSource(new URL(`class/${code}/shown`, new URL("../", import.meta.url)));
  let version = -1;
  stream.onmessage = (event) => {
    const news = JSON.parse(event.data);
    if (news.ended) {
      stream.close(); // the class is over: nothing more will be shown
      showInstructors(null, false);
      return;
    }
    if (news.shown < version) return; // older news, come after newer (the stream's first answer races a change)
    const fresh = news.shown > version;
    version = news.shown;
    showInstructors(news.image ? news : null, fresh);
    if (fresh && news.image) bringIntoView();
  };
}
