import { ChangeDetectionStrategy, Component, ElementRef, computed, inject, linkedSignal, output, signal, viewChild } from '@angular/core';
import { toObservable, toSignal } from '@angular/core/rxjs-interop';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatIconModule } from '@angular/material/icon';
import { MatMenuModule, MatMenuTrigger } from '@angular/material/menu';
import { MatTooltipModule } from '@angular/material/tooltip';
import { catchError, debounceTime, map, of, startWith, switchMap } from 'rxjs';

import type { SampleDetails } from '../../core/api/types';
import type { Reach } from '../../core/api/types';
import { CLASSES } from '../../core/api/types';
import { ExportService, download } from './export.service';
import { LibraryStore, SpreadSuggestion, emptyLoad, loadFor } from './library.store';
import { PlayerService } from './player.service';
import { SamplesService } from './samples.service';
import { WaveformView } from './waveform-view';
import { WaveformsService, decodePeaks } from './waveforms.service';

/** The selected sound: its waveform, class, tags, the spread review, similar sounds and recommendations. */
@Component({
  selector: 'app-detail-panel',
  imports: [FormsModule, MatButtonModule, MatIconModule, MatMenuModule, MatTooltipModule, WaveformView],
  templateUrl: './detail-panel.html',
  styleUrl: './detail-panel.scss',
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class DetailPanel {
  protected readonly store = inject(LibraryStore);
  protected readonly player = inject(PlayerService);
  private readonly samples = inject(SamplesService);
  private readonly waveforms = inject(WaveformsService);
  private readonly exporter = inject(ExportService);
  readonly deleteRequested = output<void>();
  readonly selectRow = output<string>();
  /** The keyboard goes back to the table (after a tag was added, the class menu closed, or Esc). */
  readonly done = output<void>();

  private readonly tagInput = viewChild<ElementRef<HTMLInputElement>>('tagInput');
  private readonly classTrigger = viewChild<MatMenuTrigger>('classTrigger');
  private readonly similarList = viewChild<ElementRef<HTMLElement>>('similarList');

  protected readonly classes = CLASSES;
  protected readonly reaches: Reach[] = ['strict', 'balanced', 'wide'];
  protected readonly newTag = signal('');
  protected readonly row = this.store.activeRow;
  protected readonly multi = computed(() => this.store.selection().size > 1);

  private readonly activePath = toObservable(this.store.active);

  protected readonly details = toSignal(
    this.activePath.pipe(
      debounceTime(60),
      switchMap((path) => (path === null ? of(emptyLoad<SampleDetails>(null)) : loadFor(path, this.samples.details(this.store.lib(), path)))),
    ),
    { initialValue: emptyLoad<SampleDetails>(null) },
  );

  protected readonly peaks = toSignal(
    this.activePath.pipe(
      switchMap((path) =>
        path === null
          ? of(null)
          : this.waveforms.peaks(this.store.lib(), path).pipe(
              map((answer) => (answer.peaks ? decodePeaks(answer.peaks) : null)),
              catchError(() => of(null)),
              startWith(null),
            ),
      ),
    ),
    { initialValue: null },
  );

  protected readonly similar = this.store.similar;

  protected readonly likelihoods = computed(() => {
    const value = this.details().value?.likelihoods;
    if (!value) return [];
    return Object.entries(value)
      .map(([name, p]) => ({ name, p }))
      .sort((a, b) => b.p - a.p);
  });

  /** Is the player on the selected sound? Then the waveform shows its play head. */
  protected readonly position = computed(() => {
    const row = this.row();
    const current = this.player.current();
    return row && current === `${this.store.lib()}\u0000${row.path}` ? this.player.position() : 0;
  });

  /** The tempo field: follows the selected sound until the user types. */
  protected readonly bpmText = linkedSignal(() => {
    const tempo = this.row()?.tempo;
    return tempo === null || tempo === undefined ? '' : String(Math.round(tempo * 10) / 10);
  });

  protected saveBpm(): void {
    const row = this.row();
    const value = Number(this.bpmText());
    if (!row || !Number.isFinite(value) || value < 20 || value > 400) return;
    this.store.setBpm(row.path, value);
    this.done.emit();
  }

  protected scaleBpm(factor: number): void {
    const row = this.row();
    if (!row || row.tempo === null) return;
    this.store.setBpm(row.path, Math.round(row.tempo * factor * 10) / 10);
  }

  focusTag(): void {
    this.tagInput()?.nativeElement.focus();
  }

  openClassMenu(): void {
    this.classTrigger()?.openMenu();
  }

  focusSimilar(): void {
    const first = this.similarList()?.nativeElement.querySelector<HTMLElement>('button');
    first?.focus();
  }

  protected play(): void {
    const row = this.row();
    if (!row) return;
    if (this.player.state() === 'playing' && this.position() > 0) this.player.stop();
    else void this.player.play(this.store.lib(), row.path);
  }

  protected seek(fraction: number): void {
    const row = this.row();
    if (row) this.player.seek(this.store.lib(), row.path, fraction);
  }

  protected addTag(): void {
    const tag = this.newTag().trim();
    if (!tag) return;
    this.store.addTag(this.store.targets(), tag);
    this.newTag.set('');
    this.done.emit();
  }

  /** The tagger's class of the selected sound, when the user corrected it. */
  protected readonly modelClass = computed(() => (this.row() as { modelClass?: string | null } | null)?.modelClass ?? null);

  protected correct(cls: string | null): void {
    this.store.correctClass(this.store.targets(), cls);
    setTimeout(() => this.done.emit()); // after the menu gave the focus back to its button
  }

  protected playPath(path: string): void {
    this.selectRow.emit(path);
  }

  downloadSound(): void {
    const row = this.row();
    if (!row) return;
    this.samples.audioUrl(this.store.lib(), row.path).subscribe({
      next: (answer) => download(answer.url, row.fileName),
      error: () => undefined,
    });
  }

  protected exportSelection(): void {
    const names = this.store.targets();
    this.exporter.link(this.store.lib(), { names }).subscribe({ next: (url) => download(url) });
  }

  protected percent(p: number): string {
    return `${Math.round(p * 100)}%`;
  }

  protected fileName(path: string): string {
    return path.slice(path.lastIndexOf('/') + 1);
  }

  protected folderOf(path: string): string {
    const cut = path.lastIndexOf('/');
    return cut < 0 ? '' : path.slice(0, cut);
  }

  protected trackSuggestion(s: SpreadSuggestion): string {
    return `${s.path}\u0000${s.tag}`;
  }
}

