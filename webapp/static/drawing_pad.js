// The drawing canvas: mouse, pen and finger through Pointer Events; the strokes kept as points.
//
// Each pointer event only records its point; the ink and whatever listens (the network) are redrawn
// once per animation frame, however many events the pen sends (a pen can send hundreds a second).

// The brush, as a fraction of the canvas side: a digit drawn across most of the canvas gets strokes
// about as thick, relative to its size, as MNIST's (the model sees them normalized anyway).
const BRUSH_FRACTION = 1 / 16;
const INK = "#111";
// Points closer than this (CSS pixels) to the previous one add nothing but work.
const MIN_STEP = 0.75;

export class DrawingPad {
  /** onChange(strokes, size): once per animation frame after the strokes changed; size in CSS pixels. */
  constructor(canvas, onChange) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
    this.onChange = onChange;
    this.strokes = [];
    this.pointer = null; // the pointer drawing now: a second finger or a resting palm is ignored
    this.size = 0;
    this.framePending = false;
    canvas.addEventListener("pointerdown", (event) => this.start(event));
    canvas.addEventListener("pointermove", (event) => this.move(event));
    for (const end of ["pointerup", "pointercancel"]) canvas.addEventListener(end, (event) => this.end(event));
    new ResizeObserver(() => this.fitToLayout()).observe(canvas);
  }

  // The canvas's place is measured when a stroke starts, not at every point: measuring makes the browser
  // lay out the page, which the last frame's views changed (milliseconds on a phone). Nothing moves it
  // during a stroke: the page does not scroll under the pen.
  point(event) {
    return [event.clientX - this.rect.left, event.clientY - this.rect.top];
  }

  start(event) {
    if (this.pointer !== null || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault(); // no text selection, no emulated mouse events after a touch
    this.rect = this.canvas.getBoundingClientRect();
    this.pointer = event.pointerId;
    try {
      this.canvas.setPointerCapture(event.pointerId); // keep the stroke when the pen leaves the canvas
    } catch {
      // a synthetic event (a script replaying strokes) has no pointer to capture: draw without
    }
    this.strokes.push([this.point(event)]);
    this.scheduleFrame();
  }

  move(event) {
    if (event.pointerId !== this.pointer) return;
    const stroke = this.strokes[this.strokes.length - 1];
    // Coalesced events: the points the browser merged into this one, so fast strokes stay smooth (a
    // synthetic event, or an older browser, has none: then the event itself).
    const coalesced = event.getCoalescedEvents?.() ?? [];
    const before = stroke.length;
    for (const sample of coalesced.length > 0 ? coalesced : [event]) {
      const [x, y] = this.point(sample);
      const [lastX, lastY] = stroke[stroke.length - 1];
      if (Math.hypot(x - lastX, y - lastY) >= MIN_STEP) stroke.push([x, y]);
    }
    if (stroke.length > before) this.scheduleFrame(); // a pen held still sends moves: nothing to redo
  }

  end(event) {
    if (event.pointerId === this.pointer) this.pointer = null;
  }

  undo() {
    if (this.pointer !== null) return;
    this.strokes.pop();
    this.scheduleFrame();
  }

  clear() {
    if (this.pointer !== null) return;
    this.strokes = [];
    this.scheduleFrame();
  }

  scheduleFrame() {
    if (this.framePending) return;
    this.framePending = true;
    requestAnimationFrame(() => {
      this.framePending = false;
      this.paint();
      this.onChange(this.strokes, this.size);
    });
  }

  // The canvas's pixels follow its size on the page (and the screen's density, for sharp ink);
  // the strokes are scaled with it when the page is resized or the phone turned.
  fitToLayout() {
    const size = this.canvas.clientWidth;
    if (size === 0 || size === this.size) return;
    if (this.size > 0) {
      const factor = size / this.size;
      this.strokes = this.strokes.map((stroke) => stroke.map(([x, y]) => [x * factor, y * factor]));
    }
    this.size = size;
    const density = window.devicePixelRatio || 1;
    this.canvas.width = this.canvas.height = Math.round(size * density);
    this.context.setTransform(density, 0, 0, density, 0, 0);
    this.scheduleFrame();
  }

  paint() {
    const context = this.context;
    context.fillStyle = "#fff";
    context.fillRect(0, 0, this.size, this.size);
    context.strokeStyle = INK;
    context.lineWidth = this.size * BRUSH_FRACTION;
    context.lineCap = context.lineJoin = "round";
    for (const stroke of this.strokes) {
      context.beginPath();
      context.moveTo(...stroke[0]);
      for (const point of stroke.slice(1)) context.lineTo(...point);
      if (stroke.length === 1) context.lineTo(...stroke[0]); // a round cap on a zero-length line: a dot
      context.stroke();
    }
  }
}
