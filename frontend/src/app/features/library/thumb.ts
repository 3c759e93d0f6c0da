import { Directive, ElementRef, afterRenderEffect, inject, input } from '@angular/core';

import { decodePeaks } from './waveforms.service';

/** Draws a row's waveform thumbnail (64 min/max pairs) on the host canvas. */
@Directive({ selector: 'canvas[appThumb]' })
export class Thumb {
  readonly appThumb = input<string | null | undefined>(null);
  /** The row's class: the colour follows it (read from the row's CSS when drawing). */
  readonly thumbClass = input<string | null>(null);
  private readonly canvas = inject<ElementRef<HTMLCanvasElement>>(ElementRef).nativeElement;

  constructor() {
    // after rendering: the row's class (and so the colour) is applied by then
    afterRenderEffect(() => {
      this.thumbClass();
      drawPeaks(this.canvas, this.appThumb() ? decodePeaks(this.appThumb()!) : null, 'currentColor');
    });
  }
}

/** Draws min/max pairs as vertical bars across the canvas; `progress` (0..1) colours the played part. */
export function drawPeaks(
  canvas: HTMLCanvasElement,
  peaks: Float32Array | null,
  color: string,
  progress = -1,
  playedColor = color,
): void {
  const context = canvas.getContext('2d');
  if (!context) return;
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width;
  const height = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  const style = getComputedStyle(canvas);
  const resolved = color === 'currentColor' ? style.color : color;
  const mid = height / 2;
  if (!peaks || peaks.length < 2) {
    context.fillStyle = resolved;
    context.globalAlpha = 0.35;
    context.fillRect(0, mid - 0.5, width, 1);
    context.globalAlpha = 1;
    return;
  }
  const pairs = peaks.length / 2;
  const step = width / pairs;
  const split = progress >= 0 ? progress * width : -1;
  for (const played of split >= 0 ? [true, false] : [false]) {
    context.fillStyle = played ? playedColor : resolved;
    context.beginPath();
    for (let i = 0; i < pairs; i++) {
      const x = i * step;
      if (split >= 0 && played !== x < split) continue;
      const lo = peaks[2 * i];
      const hi = peaks[2 * i + 1];
      const top = mid - Math.max(hi, 0.01) * mid;
      const bottom = mid - Math.min(lo, -0.01) * mid;
      context.rect(x, top, Math.max(step - (pairs > 200 ? 0 : 0.5), 0.5), bottom - top);
    }
    context.fill();
  }
}
