/**
 * Pure geometry for the timbre map: the data→pixel transform, point-in-polygon, lasso selection and a
 * uniform-grid spatial index for hover picking. No DOM, no Angular: unit-tested in geometry.spec.ts.
 */
import type { MapPoint } from '../../core/api/types';
import { CLASSES } from '../../core/api/types';

/** A point in pixel (CSS px) space: [x, y]. */
export type Vec = readonly [number, number];

/** Map classes: the tagger's classes plus `None` for samples not analysed yet (tag null). */
export const MAP_CLASSES = [...CLASSES, 'None'] as const;
export type MapClass = (typeof MAP_CLASSES)[number];

export type Shape = 'circle' | 'square' | 'triangle' | 'diamond' | 'plus' | 'triangleDown' | 'hollowSquare';

/** How each class looks: colour (a CSS variable on body), marker shape, label. */
export const CLASS_STYLE: Readonly<Record<MapClass, { cssVar: string; shape: Shape; label: string }>> = {
  Kick: { cssVar: '--ds-kick', shape: 'circle', label: 'Kick' },
  Snare: { cssVar: '--ds-snare', shape: 'square', label: 'Snare' },
  Cymbal: { cssVar: '--ds-cymbal', shape: 'triangle', label: 'Cymbal' },
  Tom: { cssVar: '--ds-tom', shape: 'diamond', label: 'Tom' },
  Drumloop: { cssVar: '--ds-drumloop', shape: 'plus', label: 'Drumloop' },
  Unknown: { cssVar: '--ds-unknown', shape: 'triangleDown', label: 'Unknown' },
  None: { cssVar: '--ds-unknown', shape: 'hollowSquare', label: 'Not analysed' },
};

const CLASS_SET: ReadonlySet<string> = new Set(CLASSES);

/** The map class of a tag: null → None; a tag outside the known classes → Unknown. */
export function classOf(tag: string | null | undefined): MapClass {
  if (tag === null || tag === undefined) return 'None';
  return CLASS_SET.has(tag) ? (tag as MapClass) : 'Unknown';
}

/** Data space [-1, 1]² → pixels: one scale on both axes (a map must not stretch distances), centred, y up. */
export interface MapTransform {
  readonly scale: number;
  readonly cx: number;
  readonly cy: number;
}

/** The transform that fits [-1, 1]² into width×height with `margin` px on every side. */
export function makeTransform(width: number, height: number, margin: number): MapTransform {
  const half = Math.min(width, height) / 2 - margin;
  return { scale: Math.max(half, 0), cx: width / 2, cy: height / 2 };
}

export function toPixel(t: MapTransform, x: number, y: number): [number, number] {
  return [t.cx + x * t.scale, t.cy - y * t.scale];
}

/** Pixels → data space; the inverse of toPixel (NaN when the map has no area). */
export function toData(t: MapTransform, px: number, py: number): [number, number] {
  if (t.scale === 0) return [NaN, NaN];
  return [(px - t.cx) / t.scale, (t.cy - py) / t.scale];
}

/** Ray casting (even–odd rule). Points exactly on an edge may fall either way. */
export function pointInPolygon(x: number, y: number, polygon: readonly Vec[]): boolean {
  let inside = false;
  const n = polygon.length;
  if (n < 3) return false;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const [xi, yi] = polygon[i];
    const [xj, yj] = polygon[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/**
 * Names of the points inside a pixel-space lasso polygon, in input order. Points of hidden classes
 * never count; with `visible` given, only names in it count (points the table's filters leave out are
 * drawn dimmed and are not selectable by lasso).
 */
export function lassoSelect(
  points: readonly MapPoint[],
  polygon: readonly Vec[],
  transform: MapTransform,
  hiddenClasses: ReadonlySet<string>,
  visible: ReadonlySet<string> | null = null,
): string[] {
  const n = polygon.length;
  if (n < 3) return [];
  // Flat copies: the inner loop runs points × vertices times.
  const vx = new Float64Array(n), vy = new Float64Array(n);
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = (vx[i] = polygon[i][0]), y = (vy[i] = polygon[i][1]);
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  const out: string[] = [];
  for (const p of points) {
    const px = transform.cx + p.x * transform.scale;
    const py = transform.cy - p.y * transform.scale;
    if (px < minX || px > maxX || py < minY || py > maxY) continue;
    if (hiddenClasses.has(classOf(p.tag))) continue;
    if (visible && !visible.has(p.name)) continue;
    let inside = false;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const yi = vy[i], yj = vy[j];
      if (yi > py !== yj > py && px < ((vx[j] - vx[i]) * (py - yi)) / (yj - yi) + vx[i]) inside = !inside;
    }
    if (inside) out.push(p.name);
  }
  return out;
}

/** A uniform grid over points in pixel space, for "which point is under the pointer". */
export interface GridIndex {
  /** Number of points indexed. */
  readonly size: number;
  /** The index (into the arrays given to buildGridIndex) of the closest point within `radius`, or -1. */
  nearest(x: number, y: number, radius: number): number;
}

/**
 * Indexes points (xs[i], ys[i]) for which `include(i)` holds (all when omitted) and whose coordinates
 * are finite, in square cells of `cellSize` px (counting sort: two flat Int32Arrays, no per-cell arrays).
 */
export function buildGridIndex(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  cellSize = 16,
  include?: (i: number) => boolean,
): GridIndex {
  const n = Math.min(xs.length, ys.length);
  const ids: number[] = [];
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = xs[i], y = ys[i];
    if (!Number.isFinite(x) || !Number.isFinite(y) || (include && !include(i))) continue;
    ids.push(i);
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  if (ids.length === 0) return { size: 0, nearest: () => -1 };
  const cell = cellSize > 0 ? cellSize : 16;
  const cols = Math.floor((maxX - minX) / cell) + 1;
  const rows = Math.floor((maxY - minY) / cell) + 1;
  const cellOf = (i: number) =>
    Math.floor((ys[i] - minY) / cell) * cols + Math.floor((xs[i] - minX) / cell);
  const start = new Int32Array(cols * rows + 1);
  for (const i of ids) start[cellOf(i) + 1]++;
  for (let c = 0; c < cols * rows; c++) start[c + 1] += start[c];
  const fill = start.slice(0, cols * rows);
  const items = new Int32Array(ids.length);
  for (const i of ids) items[fill[cellOf(i)]++] = i;

  return {
    size: ids.length,
    nearest(x: number, y: number, radius: number): number {
      if (!(radius >= 0) || !Number.isFinite(x) || !Number.isFinite(y)) return -1;
      const c0 = Math.max(0, Math.floor((x - radius - minX) / cell));
      const c1 = Math.min(cols - 1, Math.floor((x + radius - minX) / cell));
      const r0 = Math.max(0, Math.floor((y - radius - minY) / cell));
      const r1 = Math.min(rows - 1, Math.floor((y + radius - minY) / cell));
      let best = -1;
      let bestD2 = radius * radius;
      for (let r = r0; r <= r1; r++) {
        for (let c = c0; c <= c1; c++) {
          const k = r * cols + c;
          for (let s = start[k], e = start[k + 1]; s < e; s++) {
            const i = items[s];
            const dx = xs[i] - x, dy = ys[i] - y;
            const d2 = dx * dx + dy * dy;
            if (d2 <= bestD2) {
              bestD2 = d2;
              best = i;
            }
          }
        }
      }
      return best;
    },
  };
}
