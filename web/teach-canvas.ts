// The "Teach it" page's drawing pad and its MNIST-style rasterizer.
//
// DrawPad records strokes from pointer events (mouse, touch and pen alike; coalesced events keep
// fast pen strokes smooth) in coordinates normalized to [0, 1] and paints them. rasterize() turns
// strokes into the 28 x 28 image the CNN expects, the way MNIST's digits were made: the drawing's
// bounding box is scaled to fit a 20 x 20 box (aspect kept), drawn white on black with an
// anti-aliased pen about 2.5 pixels wide, and shifted so that its centre of mass is the image centre.

/** One stroke: points [x, y] in [0, 1], x to the right, y down. */
export type Stroke = Array<[number, number]>;

/** Side of the model's input image. */
export const SIDE = 28;
const BOX = 20; // MNIST's digits fit a 20 x 20 box inside the 28 x 28 image
const PEN = 2.5; // pen width in output pixels

/** A canvas the user draws on with any pointer; `onStroke` runs while drawing and when a stroke ends. */
export class DrawPad {
  /** The strokes drawn since the last clear. */
  strokes: Stroke[] = [];
  private active: number | null = null;

  /**
   * @param canvas The canvas to draw on (its CSS should say `touch-action: none`).
   * @param onStroke Called with `done` false while a stroke is drawn and true when it ends.
   */
  constructor(readonly canvas: HTMLCanvasElement, private readonly onStroke: (done: boolean) => void) {
    canvas.addEventListener('pointerdown', (e) => this.down(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    for (const t of ['pointerup', 'pointercancel'] as const) canvas.addEventListener(t, (e) => this.up(e));
    this.paint();
  }

  /** Forget the strokes and blank the canvas. */
  clear(): void {
    this.strokes = [];
    this.active = null;
    this.paint();
  }

  /** Whether anything is drawn. */
  get empty(): boolean {
    return this.strokes.length === 0;
  }

  private point(e: PointerEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)), Math.min(1, Math.max(0, (e.clientY - r.top) / r.height))];
  }

  private down(e: PointerEvent): void {
    if (e.button !== 0 && e.pointerType === 'mouse') return;
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    this.active = e.pointerId;
    this.strokes.push([this.point(e)]);
    this.paint();
    this.onStroke(false);
  }

  private move(e: PointerEvent): void {
    if (this.active !== e.pointerId) return;
    const stroke = this.strokes[this.strokes.length - 1]!;
    const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
    for (const c of events.length ? events : [e]) stroke.push(this.point(c));
    this.paint();
    this.onStroke(false);
  }

  private up(e: PointerEvent): void {
    if (this.active !== e.pointerId) return;
    this.active = null;
    this.onStroke(true);
  }

  private paint(): void {
    const ctx = this.canvas.getContext('2d')!;
    const { width: w, height: h } = this.canvas;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, w, h);
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = w / 22;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    for (const s of this.strokes) strokePath(ctx, s, w, h, 0, 0);
  }
}

function strokePath(ctx: CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D, s: Stroke, sx: number, sy: number, ox: number, oy: number): void {
  ctx.beginPath();
  ctx.moveTo(ox + s[0]![0] * sx, oy + s[0]![1] * sy);
  // A single point still leaves a dot (a round cap on a zero-length segment).
  for (const [x, y] of s.length > 1 ? s.slice(1) : s) ctx.lineTo(ox + x * sx, oy + y * sy);
  ctx.stroke();
}

/** Render strokes into a 28 x 28 canvas at scale `scale`, offset (ox, oy); returns the 8-bit pixels. */
function render(strokes: Stroke[], scale: number, ox: number, oy: number): Uint8Array {
  const c = document.createElement('canvas');
  c.width = SIDE;
  c.height = SIDE;
  const ctx = c.getContext('2d', { willReadFrequently: true })!;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, SIDE, SIDE);
  ctx.strokeStyle = '#fff';
  ctx.lineWidth = PEN;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  for (const s of strokes) strokePath(ctx, s, scale, scale, ox, oy);
  const rgba = ctx.getImageData(0, 0, SIDE, SIDE).data;
  const out = new Uint8Array(SIDE * SIDE);
  for (let i = 0; i < out.length; i++) out[i] = rgba[4 * i]!;
  return out;
}

/** The strokes as a 28 x 28 MNIST-style image (8-bit, white on black), or null when nothing is drawn. */
export function rasterize(strokes: Stroke[]): Uint8Array | null {
  const pts = strokes.flat();
  if (pts.length === 0) return null;
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const [x, y] of pts) {
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x);
    y1 = Math.max(y1, y);
  }
  // Scale the longer side of the bounding box to the 20-pixel box (less the pen); a dot or a short
  // dash is not blown up to fill it (at most 5x the canvas-to-image scale).
  const scale = Math.min((BOX - PEN) / Math.max(x1 - x0, y1 - y0, 1e-6), 5 * SIDE);
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  let ox = SIDE / 2 - cx * scale;
  let oy = SIDE / 2 - cy * scale;
  const first = render(strokes, scale, ox, oy);
  // Centre of mass to the centre, as MNIST did.
  let m = 0, mx = 0, my = 0;
  for (let i = 0; i < first.length; i++) {
    const v = first[i]!;
    m += v;
    mx += v * ((i % SIDE) + 0.5);
    my += v * (Math.floor(i / SIDE) + 0.5);
  }
  if (m === 0) return first;
  ox += SIDE / 2 - mx / m;
  oy += SIDE / 2 - my / m;
  return render(strokes, scale, ox, oy);
}

/** Paint a 28 x 28 image into a (small) canvas, e.g. a thumbnail or the model's-eye preview. */
export function paintImage(canvas: HTMLCanvasElement, pixels: Uint8Array): void {
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(SIDE, SIDE);
  for (let i = 0; i < SIDE * SIDE; i++) {
    const v = pixels[i]!;
    img.data.set([v, v, v, 255], 4 * i);
  }
  const tmp = document.createElement('canvas');
  tmp.width = SIDE;
  tmp.height = SIDE;
  tmp.getContext('2d')!.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
}
