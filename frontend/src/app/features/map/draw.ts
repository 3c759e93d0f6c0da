/**
 * Canvas drawing for the timbre map, kept out of the component so it can be benchmarked and tested with
 * a stub context. Points are batched by class: one fillStyle per class and pass, never a per-point style
 * change, and one path per CHUNK points of a class.
 *
 * Measured in headless Chromium (software raster), 10 000 points: one path per class is slower to fill
 * than the same points in paths of ~256 (Skia scan-converts one huge path worse), so each class's batch is
 * flushed every CHUNK points. `closePath()` per marker is avoided: with thousands of subpaths in one path
 * Chromium took ~0.5 s per 10 000 triangles; fill() closes subpaths implicitly. Markers are filled, never
 * stroked (stroking 10 000 small rings took ~40 ms there).
 */
import { CLASS_STYLE, MAP_CLASSES, type MapClass, type Shape } from './geometry';

/** Marker radius in CSS px (points span about 4 px). */
export const POINT_R = 2;
/** Points per path inside a class's batch (see above). */
export const CHUNK = 256;

export interface MapColors {
  /** One colour per MAP_CLASSES entry, same order. */
  readonly classes: readonly string[];
  /** Rings around the selected and hovered points. */
  readonly ring: string;
  /** Neighbour rings and the lines to them. */
  readonly accent: string;
}

export interface MapScene {
  /** CSS px. */
  readonly width: number;
  readonly height: number;
  readonly dpr: number;
  /** Pixel positions (CSS px), one per point. */
  readonly xs: Float32Array;
  readonly ys: Float32Array;
  /** Point indices per class, in MAP_CLASSES order. */
  readonly byClass: readonly Int32Array[];
  /** 1 = dimmed (outside the table's filters); null = none dimmed. */
  readonly dimmed: Uint8Array | null;
  /** One flag per MAP_CLASSES entry. */
  readonly hiddenClass: readonly boolean[];
  readonly classIdx: Uint8Array;
  readonly selected: number;
  readonly neighbours: readonly number[];
  readonly hovered: number;
  readonly colors: MapColors;
}

/**
 * Adds one marker to the current path (the caller fills or strokes once per batch). Polygons are left
 * open on purpose: fill() closes them, and closePath() is pathologically slow in long paths.
 */
export function traceShape(ctx: CanvasRenderingContext2D, shape: Shape, x: number, y: number, r: number): void {
  switch (shape) {
    case 'circle':
      ctx.moveTo(x + r, y);
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      break;
    case 'hollowSquare': {
      // Filled with the even-odd rule (see EVEN_ODD): a square outline, far cheaper than stroking.
      const h = r * 1.1, i = r * 0.5;
      ctx.rect(x - h, y - h, 2 * h, 2 * h);
      ctx.rect(x - i, y - i, 2 * i, 2 * i);
      break;
    }
    case 'square': {
      const h = r * 0.9;
      ctx.rect(x - h, y - h, 2 * h, 2 * h);
      break;
    }
    case 'triangle':
    case 'triangleDown': {
      const s = shape === 'triangle' ? 1 : -1;
      const h = r * 1.3;
      ctx.moveTo(x, y - s * h);
      ctx.lineTo(x + h, y + s * h * 0.8);
      ctx.lineTo(x - h, y + s * h * 0.8);
      break;
    }
    case 'diamond': {
      const h = r * 1.3;
      ctx.moveTo(x, y - h);
      ctx.lineTo(x + h, y);
      ctx.lineTo(x, y + h);
      ctx.lineTo(x - h, y);
      break;
    }
    case 'plus': {
      const h = r * 1.3, w = r * 0.45;
      ctx.rect(x - h, y - w, 2 * h, 2 * w);
      ctx.rect(x - w, y - h, 2 * w, 2 * h);
      break;
    }
  }
}

/** SVG path data for a legend swatch in a viewBox of -6 -6 12 12 (mirrors traceShape). */
export function swatchPath(shape: Shape): string {
  switch (shape) {
    case 'circle':
      return 'M4 0A4 4 0 1 1 -4 0A4 4 0 1 1 4 0Z';
    case 'hollowSquare':
      return 'M-4.4 -4.4H4.4V4.4H-4.4ZM-2 -2H2V2H-2Z';
    case 'square':
      return 'M-3.6 -3.6H3.6V3.6H-3.6Z';
    case 'triangle':
      return 'M0 -5L5 4H-5Z';
    case 'triangleDown':
      return 'M0 5L5 -4H-5Z';
    case 'diamond':
      return 'M0 -5L5 0L0 5L-5 0Z';
    case 'plus':
      return 'M-5 -1.6H5V1.6H-5ZM-1.6 -5H1.6V5H-1.6Z';
  }
}

/** Shapes whose path must be filled with the even-odd rule (the swatch sets fill-rule the same way). */
export const EVEN_ODD: ReadonlySet<Shape> = new Set<Shape>(['hollowSquare']);

function fillPath(ctx: CanvasRenderingContext2D, shape: Shape): void {
  if (EVEN_ODD.has(shape)) ctx.fill('evenodd');
  else ctx.fill();
}

function paint(ctx: CanvasRenderingContext2D, shape: Shape, color: string): void {
  ctx.fillStyle = color;
  fillPath(ctx, shape);
}

/** Draws the scene and returns how many points it drew (dimmed ones included, overlays not recounted). */
export function drawMap(ctx: CanvasRenderingContext2D, s: MapScene): number {
  const { xs, ys, dimmed, colors } = s;
  ctx.setTransform(s.dpr, 0, 0, s.dpr, 0, 0);
  ctx.clearRect(0, 0, s.width, s.height);
  let drawn = 0;

  // Pass 0: dimmed points (under everything); pass 1: the rest.
  for (let pass = 0; pass < 2; pass++) {
    if (pass === 0 && !dimmed) continue;
    ctx.globalAlpha = pass === 0 ? 0.16 : 0.9;
    for (let c = 0; c < MAP_CLASSES.length; c++) {
      if (s.hiddenClass[c]) continue;
      const idx = s.byClass[c];
      if (!idx || idx.length === 0) continue;
      const shape = CLASS_STYLE[MAP_CLASSES[c] as MapClass].shape;
      ctx.fillStyle = colors.classes[c];
      ctx.beginPath();
      let inPath = 0;
      for (let k = 0; k < idx.length; k++) {
        const i = idx[k];
        if (dimmed && (dimmed[i] === 1) !== (pass === 0)) continue;
        traceShape(ctx, shape, xs[i], ys[i], POINT_R);
        drawn++;
        if (++inPath === CHUNK) {
          fillPath(ctx, shape);
          ctx.beginPath();
          inPath = 0;
        }
      }
      if (inPath > 0) fillPath(ctx, shape);
    }
  }
  ctx.globalAlpha = 1;

  const shown = (i: number) => i >= 0 && i < xs.length && !s.hiddenClass[s.classIdx[i]];
  const sel = s.selected >= 0 && s.selected < xs.length ? s.selected : -1;
  const neighbours = s.neighbours.filter((i) => shown(i) && i !== sel);

  // Lines from the selected point to its true nearest neighbours, then the neighbours themselves.
  if (sel >= 0 && neighbours.length > 0) {
    ctx.beginPath();
    for (const i of neighbours) {
      ctx.moveTo(xs[sel], ys[sel]);
      ctx.lineTo(xs[i], ys[i]);
    }
    ctx.globalAlpha = 0.85;
    ctx.strokeStyle = colors.accent;
    ctx.lineWidth = 1.25;
    ctx.stroke();
    ctx.globalAlpha = 1;
  }
  if (neighbours.length > 0) {
    for (const i of neighbours) {
      const c = s.classIdx[i];
      ctx.beginPath();
      traceShape(ctx, CLASS_STYLE[MAP_CLASSES[c] as MapClass].shape, xs[i], ys[i], POINT_R * 1.6);
      paint(ctx, CLASS_STYLE[MAP_CLASSES[c] as MapClass].shape, colors.classes[c]);
    }
    ctx.beginPath();
    for (const i of neighbours) {
      ctx.moveTo(xs[i] + 6, ys[i]);
      ctx.arc(xs[i], ys[i], 6, 0, 2 * Math.PI);
    }
    ctx.strokeStyle = colors.accent;
    ctx.lineWidth = 1.5;
    ctx.stroke();
  }
  if (sel >= 0) ring(ctx, s, sel, 4, 9, 2);
  if (shown(s.hovered) && s.hovered !== sel) ring(ctx, s, s.hovered, 3, 7, 1.5);
  return drawn;
}

function ring(ctx: CanvasRenderingContext2D, s: MapScene, i: number, r: number, ringR: number, lw: number): void {
  const c = s.classIdx[i];
  const shape = CLASS_STYLE[MAP_CLASSES[c] as MapClass].shape;
  ctx.beginPath();
  traceShape(ctx, shape, s.xs[i], s.ys[i], r);
  paint(ctx, shape, s.colors.classes[c]);
  ctx.beginPath();
  ctx.arc(s.xs[i], s.ys[i], ringR, 0, 2 * Math.PI);
  ctx.strokeStyle = s.colors.ring;
  ctx.lineWidth = lw;
  ctx.stroke();
}
