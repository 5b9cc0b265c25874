// Gradio's sliders answer the pointer, not the keyboard: a slider's number box sends its value ("release")
// only when it loses focus, and its range only when the pointer is lifted. Here Enter in the box, and the
// keys that move the range, send it too: a student on the keyboard gets what a student with a mouse gets.

const RANGE_KEYS = new Set(["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End", "PageUp", "PageDown"]);

const isInput = (node, type) => node instanceof HTMLInputElement && node.type === type;
// A slider's number box: a number input in the same block as a range.
const inSlider = (box) => box.closest(".block")?.querySelector("input[type=range]") != null;

/** Listen on ``root`` (the document) for the keys that Gradio's sliders ignore. */
export function commitNumbersWithTheKeyboard(root) {
  root.addEventListener("keydown", (event) => {
    const box = event.target;
    if (event.key !== "Enter" || !isInput(box, "number") || !inSlider(box)) return;
    // What Gradio does when the box loses focus (its value sent, clamped to the range), the focus kept.
    box.dispatchEvent(new FocusEvent("blur"));
  });
  root.addEventListener("keyup", (event) => {
    const range = event.target;
    if (!RANGE_KEYS.has(event.key) || !isInput(range, "range")) return;
    range.dispatchEvent(new PointerEvent("pointerup", { bubbles: true })); // what Gradio hears from a pointer
  });
}
