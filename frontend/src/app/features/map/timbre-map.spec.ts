import { TestBed, type ComponentFixture } from '@angular/core/testing';

import type { MapPoint } from '../../core/api/types';
import { CHUNK, drawMap, type MapScene } from './draw';
import { MAP_CLASSES } from './geometry';
import { TimbreMapView } from './timbre-map';

/** A CanvasRenderingContext2D stand-in that counts calls and style assignments. */
function stubContext() {
  const calls: Record<string, number> = {};
  const ctx = new Proxy({} as Record<string, unknown>, {
    get: (target, key: string) =>
      key in target ? target[key] : (target[key] = () => void (calls[key] = (calls[key] ?? 0) + 1)),
    set: (target, key: string, value) => {
      calls[`set:${key}`] = (calls[`set:${key}`] ?? 0) + 1;
      target[key] = value;
      return true;
    },
  });
  return { ctx: ctx as unknown as CanvasRenderingContext2D, calls };
}

const POINTS: MapPoint[] = [
  { name: 'kick_01.wav', x: -0.5, y: 0.5, tag: 'Kick' },
  { name: 'kick_02.wav', x: -0.45, y: 0.55, tag: 'Kick' },
  { name: 'snare_01.wav', x: 0.5, y: 0.5, tag: 'Snare' },
  { name: 'hat_01.wav', x: 0.2, y: -0.6, tag: 'Cymbal' },
  { name: 'new.wav', x: 0, y: 0, tag: null },
];

async function frame(): Promise<void> {
  await new Promise<void>((r) => (typeof requestAnimationFrame === 'function' ? requestAnimationFrame(() => r()) : setTimeout(r)));
}

describe('TimbreMapView', () => {
  let fixture: ComponentFixture<TimbreMapView>;
  let el: HTMLElement;

  async function render(getContext: () => CanvasRenderingContext2D | null, size = { w: 400, h: 300 }) {
    vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockImplementation(getContext as never);
    vi.spyOn(HTMLElement.prototype, 'clientWidth', 'get').mockReturnValue(size.w);
    vi.spyOn(HTMLElement.prototype, 'clientHeight', 'get').mockReturnValue(size.h);
    fixture = TestBed.createComponent(TimbreMapView);
    fixture.componentRef.setInput('points', POINTS);
    el = fixture.nativeElement as HTMLElement;
    await fixture.whenStable();
    await frame();
    await fixture.whenStable();
  }
  const canvas = () => el.querySelector<HTMLCanvasElement>('[data-testid="map-canvas"]')!;
  const legendButtons = () => Array.from(el.querySelectorAll<HTMLButtonElement>('.legend button'));

  afterEach(() => vi.restoreAllMocks());

  it('renders one legend toggle per class present, with counts', async () => {
    await render(() => stubContext().ctx);
    const buttons = legendButtons();
    expect(buttons.map((b) => b.dataset['class'])).toEqual(['Kick', 'Snare', 'Cymbal', 'None']);
    expect(buttons.map((b) => b.textContent?.replace(/\s+/g, ' ').trim())).toEqual([
      'Kick 2', 'Snare 1', 'Cymbal 1', 'Not analysed 1',
    ]);
    expect(buttons.every((b) => b.type === 'button' && b.getAttribute('aria-pressed') === 'true')).toBe(true);
  });

  it('labels the canvas and reports the points drawn', async () => {
    await render(() => stubContext().ctx);
    const c = canvas();
    expect(c.getAttribute('role')).toBe('img');
    expect(c.getAttribute('aria-label')).toBe('Timbre map of 5 sounds');
    expect(c.getAttribute('data-points')).toBe('5');
    expect(el.textContent).toContain('a 2-D map distorts distances');
    expect(el.textContent).toContain('Drag to lasso sounds; click a point to select it; hover to hear it.');
  });

  it('hides a class when its legend button is toggled, and shows it again', async () => {
    await render(() => stubContext().ctx);
    const kick = legendButtons()[0];
    kick.click();
    await fixture.whenStable();
    await frame();
    expect(kick.getAttribute('aria-pressed')).toBe('false');
    expect(canvas().getAttribute('data-points')).toBe('3');
    kick.click();
    await fixture.whenStable();
    await frame();
    expect(kick.getAttribute('aria-pressed')).toBe('true');
    expect(canvas().getAttribute('data-points')).toBe('5');
  });

  it('does not crash without a 2-D context, and sets data-points to 0', async () => {
    await render(() => null);
    expect(canvas().getAttribute('data-points')).toBe('0');
    expect(canvas().getAttribute('aria-label')).toBe('Timbre map of 5 sounds');
  });

  it('emits picked on a click on a point and hovered on hover', async () => {
    await render(() => stubContext().ctx);
    const picked: string[] = [];
    const hovered: (string | null)[] = [];
    fixture.componentInstance.picked.subscribe((n) => picked.push(n));
    fixture.componentInstance.hovered.subscribe((n) => hovered.push(n));
    const c = canvas();
    vi.spyOn(c, 'getBoundingClientRect').mockReturnValue({ left: 0, top: 0 } as DOMRect);
    // 400×300, margin 14: scale 136, centre (200, 150); snare_01 at (268, 82).
    const ev = (type: string, x: number, y: number) =>
      c.dispatchEvent(Object.assign(new MouseEvent(type, { clientX: x, clientY: y, button: 0 }), { pointerId: 1 }));
    ev('pointermove', 270, 84);
    ev('pointerdown', 270, 84);
    ev('pointerup', 270, 84);
    ev('pointerleave', 0, 0);
    expect(picked).toEqual(['snare_01.wav']);
    expect(hovered).toEqual(['snare_01.wav', null]);
  });

  it('lassoes the points inside a drag and shows a hint when none are', async () => {
    await render(() => stubContext().ctx);
    const lassos: string[][] = [];
    fixture.componentInstance.lasso.subscribe((n) => lassos.push(n));
    const c = canvas();
    vi.spyOn(c, 'getBoundingClientRect').mockReturnValue({ left: 0, top: 0 } as DOMRect);
    const ev = (type: string, x: number, y: number) =>
      c.dispatchEvent(Object.assign(new MouseEvent(type, { clientX: x, clientY: y, button: 0 }), { pointerId: 1 }));
    const drag = (path: [number, number][]) => {
      ev('pointerdown', ...path[0]);
      for (const p of path.slice(1)) ev('pointermove', ...p);
      ev('pointerup', ...path[path.length - 1]);
    };
    // Around the two kicks at about (132, 82) and (139, 75).
    drag([[110, 60], [160, 60], [160, 100], [110, 100], [112, 62]]);
    expect(lassos).toEqual([['kick_01.wav', 'kick_02.wav']]);
    // An empty corner: nothing emitted, a hint shown.
    drag([[20, 280], [60, 280], [60, 295], [20, 295], [21, 281]]);
    expect(lassos.length).toBe(1);
    await fixture.whenStable();
    expect(el.querySelector('[role="status"]')?.textContent).toContain('No sounds inside the lasso');
    // Escape cancels a lasso in progress.
    ev('pointerdown', 110, 60);
    ev('pointermove', 160, 60);
    ev('pointermove', 160, 100);
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }));
    ev('pointerup', 110, 100);
    expect(lassos.length).toBe(1);
  });
});

describe('drawMap batching', () => {
  it('draws 10 000 points in per-class batches with no per-point style changes', () => {
    const n = 10_000;
    const classIdx = new Uint8Array(n);
    const xs = new Float32Array(n), ys = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      classIdx[i] = i % MAP_CLASSES.length;
      xs[i] = (i * 7) % 800;
      ys[i] = (i * 13) % 600;
    }
    const byClass = MAP_CLASSES.map((_, c) => Int32Array.from({ length: n }, (_, i) => i).filter((i) => classIdx[i] === c));
    const { ctx, calls } = stubContext();
    const scene: MapScene = {
      width: 800, height: 600, dpr: 2, xs, ys, byClass, classIdx,
      dimmed: null, hiddenClass: MAP_CLASSES.map(() => false),
      selected: 0, neighbours: [1, 2, 3], hovered: 4,
      colors: { classes: MAP_CLASSES.map(() => '#fff'), ring: '#fff', accent: '#0ff' },
    };
    const t0 = performance.now();
    expect(drawMap(ctx, scene)).toBe(n);
    const ms = performance.now() - t0;
    // One style per class plus the few overlays (selected, 3 neighbours, hovered, lines).
    expect((calls['set:fillStyle'] ?? 0) + (calls['set:strokeStyle'] ?? 0)).toBeLessThan(MAP_CLASSES.length + 15);
    // One fill (or stroke) per CHUNK points of a class, plus overlays.
    const batches = MAP_CLASSES.length * Math.ceil(n / MAP_CLASSES.length / CHUNK);
    expect((calls['fill'] ?? 0) + (calls['stroke'] ?? 0)).toBeLessThanOrEqual(batches + 15);
    expect(calls['beginPath']).toBeLessThanOrEqual(batches + 15);
    expect(calls['closePath'] ?? 0).toBe(0);
    expect(ms).toBeLessThan(1000); // stub context: only a sanity bound here; real timings come from a browser.
  });
});
