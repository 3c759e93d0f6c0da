import { ChangeDetectionStrategy, Component, ElementRef, afterRenderEffect, input, output, viewChild } from '@angular/core';

import { drawPeaks } from './thumb';

/** The selected sound's large waveform with a moving play head; a click (or ←/→ on the focused view) seeks. */
@Component({
  selector: 'app-waveform-view',
  template: `
    <canvas #canvas data-testid="waveform" role="slider" tabindex="0" aria-label="Play position: click to play from there"
            aria-valuemin="0" [attr.aria-valuemax]="duration().toFixed(2)" [attr.aria-valuenow]="position().toFixed(2)"
            [attr.aria-valuetext]="position().toFixed(2) + ' of ' + duration().toFixed(2) + ' seconds'"
            (click)="clicked($event)" (keydown)="key($event)"></canvas>
  `,
  styles: `
    :host { display: block; }
    canvas { display: block; width: 100%; height: 96px; color: var(--mat-sys-on-surface-variant); cursor: pointer;
      border-radius: 8px; background: var(--mat-sys-surface-container-lowest); }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class WaveformView {
  readonly peaks = input<Float32Array | null>(null);
  readonly duration = input(0);
  readonly position = input(0);
  readonly seek = output<number>();
  private readonly canvas = viewChild.required<ElementRef<HTMLCanvasElement>>('canvas');

  constructor() {
    afterRenderEffect(() => {
      const duration = this.duration();
      const progress = duration > 0 ? Math.min(1, this.position() / duration) : -1;
      const canvas = this.canvas().nativeElement;
      const played = getComputedStyle(canvas).getPropertyValue('--mat-sys-primary').trim() || '#4dd0e1';
      drawPeaks(canvas, this.peaks(), 'currentColor', progress, played);
    });
  }

  protected clicked(event: MouseEvent): void {
    const box = (event.target as HTMLElement).getBoundingClientRect();
    this.seek.emit(Math.max(0, Math.min(1, (event.clientX - box.left) / box.width)));
  }

  protected key(event: KeyboardEvent): void {
    const duration = this.duration();
    if (!duration || (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight')) return;
    event.preventDefault();
    event.stopPropagation();
    const step = event.key === 'ArrowLeft' ? -0.1 : 0.1;
    this.seek.emit(Math.max(0, Math.min(1, this.position() / duration + step)));
  }
}
