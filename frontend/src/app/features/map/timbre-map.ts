import {
  ChangeDetectionStrategy,
  Component,
  DestroyRef,
  ElementRef,
  afterNextRender,
  afterRenderEffect,
  computed,
  inject,
  input,
  linkedSignal,
  output,
  signal,
  viewChild,
} from '@angular/core';
import { DOCUMENT } from '@angular/common';

import type { MapPoint } from '../../core/api/types';
import { EVEN_ODD, drawMap, swatchPath, type MapColors } from './draw';
import {
  CLASS_STYLE,
  MAP_CLASSES,
  buildGridIndex,
  classOf,
  lassoSelect,
  makeTransform,
  type MapClass,
  type Vec,
} from './geometry';

/** Margin (CSS px) around the [-1, 1]² square, so markers and rings at ±1 stay inside the canvas. */
const MARGIN = 14;
/** How far (CSS px) from a point the pointer may be to hover or pick it. */
const PICK_RADIUS = 8;
/** A pointer that moves less than this (CSS px) between down and up clicked. */
const CLICK_SLOP = 5;
const FALLBACK_COLORS = ['#ff7a59', '#4fc3f7', '#ffd54f', '#ba68c8', '#81c784', '#9e9e9e', '#9e9e9e'];

interface LegendEntry {
  readonly key: MapClass;
  readonly label: string;
  readonly count: number;
  readonly color: string;
  readonly path: string;
  readonly evenOdd: boolean;
}

let nextId = 0;

/**
 * The library as a 2-D timbre scatter on a canvas: colour and shape by class, hover to hear (`hovered`),
 * click to select (`picked`), drag a lasso to select many (`lasso`), a legend that hides classes, and the
 * selected sound's true nearest neighbours highlighted with lines to them.
 */
@Component({
  selector: 'app-timbre-map',
  template: `
    <div class="legend" role="group" aria-label="Show or hide classes on the map">
      @for (c of legend(); track c.key) {
        <button type="button" class="chip" [class.off]="hidden().has(c.key)" [attr.data-class]="c.key"
                [attr.aria-pressed]="!hidden().has(c.key)" (click)="toggleClass(c.key)">
          <svg viewBox="-6 -6 12 12" width="12" height="12" aria-hidden="true" [style.color]="c.color">
            <path [attr.d]="c.path" [attr.fill-rule]="c.evenOdd ? 'evenodd' : null" />
          </svg>
          <span>{{ c.label }}</span>&ngsp;<span class="count">{{ c.count }}</span>
        </button>
      }
    </div>
    <div class="stage" #stage>
      <canvas #canvas data-testid="map-canvas" role="img" data-points="0" [attr.aria-label]="ariaLabel()"
              [attr.aria-describedby]="noteId"></canvas>
      @if (lassoPath()) {
        <svg class="lasso" aria-hidden="true"><polygon [attr.points]="lassoPath()" /></svg>
      }
      @if (tooltip(); as t) {
        <div class="tip" role="tooltip" [class.flip]="t.flip" [style.left.px]="t.x" [style.top.px]="t.y">
          <strong>{{ t.name }}</strong><span>{{ t.label }}</span>
        </div>
      }
      <div class="toast" role="status" [class.show]="!!hint()">{{ hint() }}</div>
    </div>
    <p class="note" [id]="noteId">
      Near points usually sound alike, but a 2-D map distorts distances: the highlighted points are the
      selected sound's true nearest neighbours.
      <span class="hint">Drag to lasso sounds; click a point to select it; hover to hear it.</span>
    </p>
  `,
  styles: `
    :host { display: flex; flex-direction: column; min-height: 0; height: 100%; }
    .legend { display: flex; flex-wrap: wrap; gap: 4px; padding: 4px 0; }
    .chip {
      display: inline-flex; align-items: center; gap: 6px; height: 28px; padding: 0 10px; cursor: pointer;
      font: inherit; font-size: 13px; color: var(--mat-sys-on-surface); border-radius: 14px;
      background: var(--mat-sys-surface-container-high); border: 1px solid var(--mat-sys-outline-variant);
    }
    .chip.off { opacity: .5; background: transparent; text-decoration: line-through; }
    .chip:focus-visible { outline: 2px solid var(--mat-sys-primary); outline-offset: 2px; }
    .chip path { fill: currentColor; }
    .count { color: var(--mat-sys-on-surface-variant); font-variant-numeric: tabular-nums; }
    .stage {
      position: relative; flex: 1; min-height: 160px; overflow: hidden; border-radius: 8px;
      background: var(--mat-sys-surface-container-lowest); border: 1px solid var(--mat-sys-outline-variant);
    }
    canvas { position: absolute; inset: 0; width: 100%; height: 100%; touch-action: none; cursor: crosshair; }
    .lasso { position: absolute; inset: 0; width: 100%; height: 100%; pointer-events: none; }
    .lasso polygon {
      fill: color-mix(in srgb, var(--mat-sys-primary) 12%, transparent);
      stroke: var(--mat-sys-primary); stroke-width: 1.5; stroke-dasharray: 4 3;
    }
    .tip {
      position: absolute; pointer-events: none; transform: translate(12px, 12px); max-width: 280px;
      display: flex; flex-direction: column; padding: 4px 8px; border-radius: 4px; font-size: 12px;
      background: var(--mat-sys-inverse-surface); color: var(--mat-sys-inverse-on-surface);
    }
    .tip.flip { transform: translate(calc(-100% - 12px), 12px); }
    .tip strong { font-weight: 500; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .toast {
      position: absolute; left: 50%; bottom: 12px; transform: translateX(-50%); pointer-events: none;
      padding: 6px 12px; border-radius: 4px; font-size: 13px; opacity: 0; transition: opacity .2s;
      background: var(--mat-sys-inverse-surface); color: var(--mat-sys-inverse-on-surface);
    }
    .toast.show { opacity: 1; }
    .note { margin: 6px 0 0; font-size: 12px; color: var(--mat-sys-on-surface-variant); }
    .hint { display: block; }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class TimbreMapView {
  /** The library's points, x and y in [-1, 1]. */
  readonly points = input.required<readonly MapPoint[]>();
  /** The selected sample's name: drawn larger, with a ring. */
  readonly selected = input<string | null>(null);
  /** The selected sound's true nearest neighbours (from the server): highlighted, with lines to them. */
  readonly neighbours = input<readonly string[]>([]);
  /** Names that pass the table's filters; the rest are drawn dimmed. null = all. */
  readonly visible = input<ReadonlySet<string> | null>(null);

  /** The point under the pointer (null when none): the parent plays it. */
  readonly hovered = output<string | null>();
  /** A click on a point: the parent selects its row. */
  readonly picked = output<string>();
  /** Names inside a lasso (never empty): shown classes only, and only names in `visible`. */
  readonly lasso = output<string[]>();

  protected readonly noteId = `ds-map-note-${nextId++}`;
  protected readonly hidden = signal<ReadonlySet<MapClass>>(new Set());
  protected readonly lassoPath = signal('');
  protected readonly hint = signal('');

  private readonly canvasRef = viewChild.required<ElementRef<HTMLCanvasElement>>('canvas');
  private readonly stageRef = viewChild.required<ElementRef<HTMLDivElement>>('stage');
  private readonly doc = inject(DOCUMENT);
  private readonly size = signal({ width: 0, height: 0 });
  /** The hovered point's index; reset when the points change. */
  private readonly hoverIdx = linkedSignal({ source: this.points, computation: () => -1 });
  private colors: MapColors | null = null;
  private frame = 0;
  private hintTimer: ReturnType<typeof setTimeout> | undefined;
  private lassoPts: [number, number][] | null = null;
  private down: { x: number; y: number; idx: number; id: number; moved: boolean } | null = null;
  private readonly cleanup: (() => void)[] = [];

  /** Point index by name. */
  private readonly indexOf = computed(() => {
    const m = new Map<string, number>();
    this.points().forEach((p, i) => m.set(p.name, i));
    return m;
  });

  /** Class index (into MAP_CLASSES) per point, and point indices per class. */
  private readonly classes = computed(() => {
    const pts = this.points();
    const classIdx = new Uint8Array(pts.length);
    const counts = new Array<number>(MAP_CLASSES.length).fill(0);
    pts.forEach((p, i) => counts[(classIdx[i] = MAP_CLASSES.indexOf(classOf(p.tag)))]++);
    const byClass = counts.map((n) => new Int32Array(n));
    const fill = new Array<number>(MAP_CLASSES.length).fill(0);
    for (let i = 0; i < pts.length; i++) byClass[classIdx[i]][fill[classIdx[i]]++] = i;
    return { classIdx, counts, byClass };
  });

  private readonly transform = computed(() => {
    const { width, height } = this.size();
    return makeTransform(width, height, MARGIN);
  });

  /** Pixel positions (CSS px) of every point. */
  private readonly pixels = computed(() => {
    const pts = this.points();
    const t = this.transform();
    const xs = new Float32Array(pts.length);
    const ys = new Float32Array(pts.length);
    pts.forEach((p, i) => {
      xs[i] = t.cx + p.x * t.scale;
      ys[i] = t.cy - p.y * t.scale;
    });
    return { xs, ys };
  });

  private readonly dimmed = computed(() => {
    const vis = this.visible();
    if (!vis) return null;
    return Uint8Array.from(this.points(), (p) => (vis.has(p.name) ? 0 : 1));
  });

  private readonly hiddenFlags = computed(() => MAP_CLASSES.map((c) => this.hidden().has(c)));

  /** Hover/click picking over the points of shown classes. */
  private readonly grid = computed(() => {
    const { xs, ys } = this.pixels();
    const { classIdx } = this.classes();
    const hidden = this.hiddenFlags();
    return buildGridIndex(xs, ys, 2 * PICK_RADIUS, (i) => !hidden[classIdx[i]]);
  });

  protected readonly legend = computed<LegendEntry[]>(() => {
    const { counts } = this.classes();
    return MAP_CLASSES.flatMap((key, c) => {
      if (counts[c] === 0) return [];
      const style = CLASS_STYLE[key];
      const path = swatchPath(style.shape);
      return [{ key, label: style.label, count: counts[c], color: `var(${style.cssVar})`, path, evenOdd: EVEN_ODD.has(style.shape) }];
    });
  });

  protected readonly ariaLabel = computed(() => {
    const n = this.points().length;
    return `Timbre map of ${n} ${n === 1 ? 'sound' : 'sounds'}`;
  });

  protected readonly tooltip = computed(() => {
    const i = this.hoverIdx();
    const p = this.points()[i];
    if (!p) return null;
    const { xs, ys } = this.pixels();
    const label = p.tag === null ? 'Not analysed' : p.tag;
    return { name: p.name, label, x: xs[i], y: ys[i], flip: xs[i] > this.size().width - 200 };
  });

  constructor() {
    // Redraw when inputs, hidden classes, size or hover change; coalesced to one draw per frame.
    afterRenderEffect(() => {
      this.points();
      this.selected();
      this.neighbours();
      this.dimmed();
      this.hiddenFlags();
      this.pixels();
      this.hoverIdx();
      this.schedule();
    });

    afterNextRender(() => this.attach());

    inject(DestroyRef).onDestroy(() => {
      this.cleanup.forEach((f) => f());
      this.doc.removeEventListener('keydown', this.onKey);
      if (this.frame && typeof cancelAnimationFrame === 'function') cancelAnimationFrame(this.frame);
      clearTimeout(this.hintTimer);
    });
  }

  protected toggleClass(key: MapClass): void {
    const next = new Set(this.hidden());
    if (!next.delete(key)) next.add(key);
    this.hidden.set(next);
    const h = this.hoverIdx();
    if (h >= 0 && next.has(MAP_CLASSES[this.classes().classIdx[h]])) this.setHover(-1);
  }

  private schedule(): void {
    if (typeof requestAnimationFrame !== 'function') {
      this.draw();
      return;
    }
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private draw(): void {
    const canvas = this.canvasRef().nativeElement;
    const { width, height } = this.size();
    const dpr = this.doc.defaultView?.devicePixelRatio || 1;
    const bw = Math.max(1, Math.round(width * dpr));
    const bh = Math.max(1, Math.round(height * dpr));
    if (canvas.width !== bw) canvas.width = bw;
    if (canvas.height !== bh) canvas.height = bh;
    let drawn = 0;
    const ctx = width > 0 && height > 0 ? canvas.getContext('2d') : null;
    if (ctx) {
      const idx = this.indexOf();
      const sel = this.selected();
      const { xs, ys } = this.pixels();
      const { classIdx, byClass } = this.classes();
      drawn = drawMap(ctx, {
        width, height, dpr, xs, ys, byClass, classIdx,
        dimmed: this.dimmed(),
        hiddenClass: this.hiddenFlags(),
        selected: sel === null ? -1 : (idx.get(sel) ?? -1),
        neighbours: this.neighbours().flatMap((n) => idx.get(n) ?? []),
        hovered: this.hoverIdx(),
        colors: this.readColors(),
      });
    }
    canvas.setAttribute('data-points', String(drawn));
  }

  /** Class colours from the CSS variables on body, read once. */
  private readColors(): MapColors {
    if (this.colors) return this.colors;
    const view = this.doc.defaultView;
    const style = view?.getComputedStyle ? view.getComputedStyle(this.doc.body) : null;
    const v = (name: string, fallback: string) => style?.getPropertyValue(name).trim() || fallback;
    this.colors = {
      classes: MAP_CLASSES.map((c, i) => v(CLASS_STYLE[c].cssVar, FALLBACK_COLORS[i])),
      ring: v('--mat-sys-on-surface', '#e3e3e3'),
      accent: v('--mat-sys-primary', '#4dd0e1'),
    };
    return this.colors;
  }

  /** Size tracking and pointer listeners (outside template bindings: pointermove must not run change detection). */
  private attach(): void {
    const stage = this.stageRef().nativeElement;
    const canvas = this.canvasRef().nativeElement;
    const measure = () => {
      const width = stage.clientWidth, height = stage.clientHeight;
      const cur = this.size();
      if (cur.width !== width || cur.height !== height) this.size.set({ width, height });
    };
    measure();
    const view = this.doc.defaultView;
    if (view && typeof view.ResizeObserver === 'function') {
      const ro = new view.ResizeObserver(() => measure());
      ro.observe(stage);
      this.cleanup.push(() => ro.disconnect());
    } else if (view) {
      view.addEventListener('resize', measure);
      this.cleanup.push(() => view.removeEventListener('resize', measure));
    }
    const on = <K extends keyof HTMLElementEventMap>(k: K, f: (e: HTMLElementEventMap[K]) => void) => {
      canvas.addEventListener(k, f);
      this.cleanup.push(() => canvas.removeEventListener(k, f));
    };
    on('pointerdown', (e) => this.onDown(e));
    on('pointermove', (e) => this.onMove(e));
    on('pointerup', (e) => this.onUp(e));
    on('pointercancel', () => this.cancelLasso());
    on('pointerleave', () => this.lassoPts || this.setHover(-1));
  }

  private local(e: PointerEvent): [number, number] {
    const r = this.canvasRef().nativeElement.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  private onDown(e: PointerEvent): void {
    if (e.button !== 0) return;
    const [x, y] = this.local(e);
    const idx = this.grid().nearest(x, y, PICK_RADIUS);
    this.down = { x, y, idx, id: e.pointerId, moved: false };
    if (idx < 0) {
      this.lassoPts = [[x, y]];
      this.lassoPath.set(`${x},${y}`);
      this.setHover(-1);
      this.doc.addEventListener('keydown', this.onKey);
    }
    const canvas = this.canvasRef().nativeElement;
    if (typeof canvas.setPointerCapture === 'function') {
      try { canvas.setPointerCapture(e.pointerId); } catch { /* not capturable (synthetic event) */ }
    }
    e.preventDefault();
  }

  private onMove(e: PointerEvent): void {
    const [x, y] = this.local(e);
    const down = this.down;
    if (down && !down.moved && Math.hypot(x - down.x, y - down.y) >= CLICK_SLOP) down.moved = true;
    const pts = this.lassoPts;
    if (pts) {
      const [lx, ly] = pts[pts.length - 1];
      if (Math.hypot(x - lx, y - ly) < 3) return;
      pts.push([x, y]);
      this.lassoPath.update((s) => `${s} ${x},${y}`);
      return;
    }
    if (e.pointerType !== 'touch') this.setHover(this.grid().nearest(x, y, PICK_RADIUS));
  }

  private onUp(e: PointerEvent): void {
    const down = this.down;
    this.down = null;
    if (!down || down.id !== e.pointerId) return;
    const [x, y] = this.local(e);
    const click = !down.moved && Math.hypot(x - down.x, y - down.y) < CLICK_SLOP;
    const pts = this.lassoPts;
    if (pts) {
      this.endLasso();
      if (click || pts.length < 3) return;
      const names = lassoSelect(this.points(), pts as Vec[], this.transform(), this.hidden(), this.visible());
      if (names.length > 0) this.lasso.emit(names);
      else this.flashHint('No sounds inside the lasso');
    } else if (click && down.idx >= 0) {
      const p = this.points()[down.idx];
      if (p) this.picked.emit(p.name);
    }
  }

  private readonly onKey = (e: KeyboardEvent) => {
    if (e.key === 'Escape' && this.lassoPts) {
      e.preventDefault();
      this.cancelLasso();
    }
  };

  private cancelLasso(): void {
    this.down = null;
    this.endLasso();
  }

  private endLasso(): void {
    this.lassoPts = null;
    this.lassoPath.set('');
    this.doc.removeEventListener('keydown', this.onKey);
  }

  private setHover(i: number): void {
    if (i === this.hoverIdx()) return;
    this.hoverIdx.set(i);
    this.hovered.emit(i >= 0 ? (this.points()[i]?.name ?? null) : null);
  }

  private flashHint(text: string): void {
    clearTimeout(this.hintTimer);
    this.hint.set(text);
    this.hintTimer = setTimeout(() => this.hint.set(''), 2500);
  }
}
