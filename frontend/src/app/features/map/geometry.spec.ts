import type { MapPoint } from '../../core/api/types';
import {
  buildGridIndex,
  classOf,
  lassoSelect,
  makeTransform,
  pointInPolygon,
  toData,
  toPixel,
  type Vec,
} from './geometry';

describe('makeTransform / toPixel / toData', () => {
  it('fits [-1, 1]² inside the margin with one scale, centred, y up', () => {
    const t = makeTransform(400, 200, 10);
    expect(t.scale).toBe(90);
    expect(toPixel(t, 0, 0)).toEqual([200, 100]);
    expect(toPixel(t, 1, 1)).toEqual([290, 10]);
    expect(toPixel(t, -1, -1)).toEqual([110, 190]);
  });

  it('keeps points at ±1 inside the canvas by the margin', () => {
    const t = makeTransform(300, 500, 12);
    for (const [x, y] of [[-1, -1], [1, 1], [-1, 1], [1, -1]]) {
      const [px, py] = toPixel(t, x, y);
      expect(px).toBeGreaterThanOrEqual(12);
      expect(px).toBeLessThanOrEqual(288);
      expect(py).toBeGreaterThanOrEqual(12);
      expect(py).toBeLessThanOrEqual(488);
    }
  });

  it('round-trips through toData', () => {
    const t = makeTransform(640, 480, 14);
    for (const [x, y] of [[0.3, -0.7], [-1, 1], [0.999, 0.001]]) {
      const [px, py] = toPixel(t, x, y);
      const [dx, dy] = toData(t, px, py);
      expect(dx).toBeCloseTo(x, 10);
      expect(dy).toBeCloseTo(y, 10);
    }
  });

  it('degenerates safely when the canvas is smaller than its margins', () => {
    const t = makeTransform(10, 10, 14);
    expect(t.scale).toBe(0);
    expect(toData(t, 5, 5).every(Number.isNaN)).toBe(true);
  });
});

describe('classOf', () => {
  it('maps null to None and unknown tags to Unknown', () => {
    expect(classOf('Kick')).toBe('Kick');
    expect(classOf('Drumloop')).toBe('Drumloop');
    expect(classOf(null)).toBe('None');
    expect(classOf('Cowbell')).toBe('Unknown');
  });
});

describe('pointInPolygon', () => {
  const square: Vec[] = [[0, 0], [10, 0], [10, 10], [0, 10]];
  // A "U" shape: the notch (4..6, 5..10) is outside.
  const u: Vec[] = [[0, 0], [10, 0], [10, 10], [6, 10], [6, 5], [4, 5], [4, 10], [0, 10]];

  it('finds points inside and outside a square', () => {
    expect(pointInPolygon(5, 5, square)).toBe(true);
    expect(pointInPolygon(0.1, 9.9, square)).toBe(true);
    expect(pointInPolygon(-1, 5, square)).toBe(false);
    expect(pointInPolygon(5, 11, square)).toBe(false);
  });

  it('handles concave polygons', () => {
    expect(pointInPolygon(5, 8, u)).toBe(false);
    expect(pointInPolygon(5, 2, u)).toBe(true);
    expect(pointInPolygon(2, 8, u)).toBe(true);
    expect(pointInPolygon(8, 8, u)).toBe(true);
  });

  it('is independent of winding and false for degenerate polygons', () => {
    expect(pointInPolygon(5, 5, [...square].reverse())).toBe(true);
    expect(pointInPolygon(5, 5, [[0, 0], [10, 10]])).toBe(false);
    expect(pointInPolygon(5, 5, [])).toBe(false);
  });
});

describe('lassoSelect', () => {
  const t = makeTransform(200, 200, 0); // scale 100, centre (100, 100)
  const points: MapPoint[] = [
    { name: 'k1', x: -0.5, y: 0.5, tag: 'Kick' }, // (50, 50)
    { name: 's1', x: -0.4, y: 0.4, tag: 'Snare' }, // (60, 60)
    { name: 'n1', x: -0.45, y: 0.45, tag: null }, // (55, 55)
    { name: 'k2', x: 0.5, y: -0.5, tag: 'Kick' }, // (150, 150)
  ];
  const box: Vec[] = [[40, 40], [70, 40], [70, 70], [40, 70]];

  it('selects the points inside the polygon, in input order', () => {
    expect(lassoSelect(points, box, t, new Set())).toEqual(['k1', 's1', 'n1']);
  });

  it('skips hidden classes (None for tag null)', () => {
    expect(lassoSelect(points, box, t, new Set(['Snare', 'None']))).toEqual(['k1']);
  });

  it('skips names outside `visible` when given', () => {
    expect(lassoSelect(points, box, t, new Set(), new Set(['s1', 'k2']))).toEqual(['s1']);
  });

  it('agrees with pointInPolygon on a concave lasso over random points', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const many: MapPoint[] = Array.from({ length: 2000 }, (_, i) => ({ name: `p${i}`, x: rnd() * 2 - 1, y: rnd() * 2 - 1, tag: 'Tom' }));
    const star: Vec[] = Array.from({ length: 10 }, (_, k) => {
      const r = k % 2 ? 30 : 90, a = (k / 10) * 2 * Math.PI;
      return [100 + r * Math.cos(a), 100 + r * Math.sin(a)] as const;
    });
    const expected = many.filter((p) => pointInPolygon(...toPixel(t, p.x, p.y), star)).map((p) => p.name);
    expect(expected.length).toBeGreaterThan(100);
    expect(lassoSelect(many, star, t, new Set())).toEqual(expected);
  });

  it('returns [] for an empty area or a degenerate polygon', () => {
    expect(lassoSelect(points, [[180, 10], [195, 10], [195, 30]], t, new Set())).toEqual([]);
    expect(lassoSelect(points, [[40, 40], [70, 70]], t, new Set())).toEqual([]);
  });
});

describe('buildGridIndex', () => {
  it('returns the closest point within the radius, or -1', () => {
    const xs = [10, 20, 100, 103];
    const ys = [10, 10, 100, 100];
    const g = buildGridIndex(xs, ys, 16);
    expect(g.size).toBe(4);
    expect(g.nearest(12, 11, 8)).toBe(0);
    expect(g.nearest(18, 11, 8)).toBe(1);
    expect(g.nearest(102, 100, 8)).toBe(3);
    expect(g.nearest(50, 50, 8)).toBe(-1);
    expect(g.nearest(10, 19, 8)).toBe(-1); // 9 px away
    expect(g.nearest(10, 18, 8)).toBe(0); // exactly 8 px away
  });

  it('finds points across cell borders and outside the indexed bounds', () => {
    const g = buildGridIndex([0, 32], [0, 0], 16);
    expect(g.nearest(-5, 0, 8)).toBe(0);
    expect(g.nearest(17, 0, 16)).toBe(1);
    expect(g.nearest(40, 0, 8)).toBe(1);
  });

  it('honours include() and skips non-finite coordinates', () => {
    const g = buildGridIndex([10, 11, NaN], [10, 10, 10], 16, (i) => i !== 1);
    expect(g.size).toBe(1);
    expect(g.nearest(11, 10, 8)).toBe(0);
    expect(buildGridIndex([], [], 16).nearest(0, 0, 8)).toBe(-1);
  });

  it('agrees with a linear scan on random data', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const n = 5000;
    const xs = Float32Array.from({ length: n }, () => rnd() * 800);
    const ys = Float32Array.from({ length: n }, () => rnd() * 600);
    const g = buildGridIndex(xs, ys, 16);
    for (let q = 0; q < 300; q++) {
      const x = rnd() * 800, y = rnd() * 600;
      let best = -1, bestD = 64;
      for (let i = 0; i < n; i++) {
        const d = (xs[i] - x) ** 2 + (ys[i] - y) ** 2;
        if (d <= bestD) { bestD = d; best = i; }
      }
      const got = g.nearest(x, y, 8);
      if (best < 0) expect(got).toBe(-1);
      else expect((xs[got] - x) ** 2 + (ys[got] - y) ** 2).toBeCloseTo(bestD, 6);
    }
  });
});
