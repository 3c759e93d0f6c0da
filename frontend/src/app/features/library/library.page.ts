import { ChangeDetectionStrategy, Component, DestroyRef, ElementRef, OnInit, computed, effect, inject, input, signal, untracked, viewChild } from '@angular/core';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatButtonToggleModule } from '@angular/material/button-toggle';
import { MatDialog } from '@angular/material/dialog';
import { MatIconModule } from '@angular/material/icon';
import { MatMenuModule } from '@angular/material/menu';
import { MatProgressBarModule } from '@angular/material/progress-bar';
import { MatSlideToggleModule } from '@angular/material/slide-toggle';
import { MatTooltipModule } from '@angular/material/tooltip';
import { RouterLink } from '@angular/router';
import { filter, throttleTime } from 'rxjs';

import type { MapPoint } from '../../core/api/types';
import { CLASSES } from '../../core/api/types';
import { NotifyService } from '../../core/notify.service';
import { ConfirmDialog, ConfirmData } from '../../shared/confirm-dialog';
import { TopBar } from '../../shared/top-bar';
import { TimbreMapView } from '../map/timbre-map';
import { Collected, filesFromDrop, filesFromInput } from '../upload/collect';
import { UploadPanel } from '../upload/upload-panel';
import { UploadService } from '../upload/upload.service';
import { DuplicatesDialog, DuplicatesData, DuplicatesResult } from '../duplicates/duplicates-dialog';
import { CorrectionsService } from './corrections.service';
import { DetailPanel } from './detail-panel';
import { ExportFilter, ExportService, download } from './export.service';
import { HelpOverlay } from './help-overlay';
import { LibraryStore } from './library.store';
import { PlayerService } from './player.service';
import { SampleTable, TableCommand } from './sample-table';
import { TimbreMapService } from './timbre-map.service';

const HINT_KEY = 'ds.hintSeen';

/** One library: import, the table with audition, filters, the detail panel, the timbre map and export. */
@Component({
  selector: 'app-library-page',
  imports: [
    DetailPanel, FormsModule, MatButtonModule, MatButtonToggleModule, MatIconModule, MatMenuModule, MatProgressBarModule,
    MatSlideToggleModule, MatTooltipModule, RouterLink, SampleTable, TimbreMapView, TopBar, UploadPanel,
  ],
  providers: [LibraryStore],
  templateUrl: './library.page.html',
  styleUrl: './library.page.scss',
  changeDetection: ChangeDetectionStrategy.OnPush,
  host: {
    '(document:keydown)': 'globalKey($event)',
    '(dragover)': 'dragOver($event)',
    '(dragleave)': 'dragLeave($event)',
    '(drop)': 'drop($event)',
  },
})
export class LibraryPage implements OnInit {
  /** The route's `:name`. */
  readonly name = input.required<string>();

  protected readonly store = inject(LibraryStore);
  protected readonly player = inject(PlayerService);
  protected readonly upload = inject(UploadService);
  private readonly maps = inject(TimbreMapService);
  private readonly exporter = inject(ExportService);
  private readonly corrections = inject(CorrectionsService);
  private readonly dialog = inject(MatDialog);
  private readonly notify = inject(NotifyService);
  private readonly destroyRef = inject(DestroyRef);

  private readonly table = viewChild(SampleTable);
  private readonly detail = viewChild(DetailPanel);
  private readonly search = viewChild<ElementRef<HTMLInputElement>>('search');

  protected readonly classes = [...CLASSES, 'Not analysed'];
  protected readonly view = signal<'list' | 'map'>('list');
  protected readonly points = signal<MapPoint[] | null>(null);
  protected readonly mapError = signal<string | null>(null);
  protected readonly dragging = signal(false);
  protected readonly showUploads = signal(false);
  protected readonly hint = signal(localStorage.getItem(HINT_KEY) !== '1');
  protected readonly autoplay = signal(localStorage.getItem('ds.autoplay') !== 'off');

  /** The map's points with the class the table shows (the user's correction included). */
  protected readonly mapPoints = computed(() => {
    const points = this.points();
    const rows = this.store.byPath();
    return points === null ? null : points.map((p) => ({ ...p, tag: rows.get(p.name)?.shownClass ?? p.tag }));
  });
  protected readonly neighbours = computed(() => (this.store.similar().value ?? []).map((s) => s.name));
  protected readonly job = this.store.job;
  protected readonly jobPercent = computed(() => {
    const job = this.job();
    return job && job.total ? Math.round((100 * job.done) / job.total) : 0;
  });
  protected readonly empty = computed(() => this.store.loadedOnce() && this.store.rows().length === 0);

  constructor() {
    // the auto-play switch is remembered
    effect(() => localStorage.setItem('ds.autoplay', this.autoplay() ? 'on' : 'off'));
    // the map is (re)loaded when shown and when the analysis changed it
    effect(() => {
      if (this.view() !== 'map') return;
      this.job()?.finishedAt;
      untracked(() => this.loadMap());
    });
  }

  ngOnInit(): void {
    this.store.open(this.name());
    this.destroyRef.onDestroy(() => {
      this.store.stop();
      this.player.stop();
    });
    this.upload.batchDone$
      .pipe(
        filter((done) => done.lib === this.name() && done.outcomes.some((o) => o.status === 'stored' || o.status === 'replaced')),
        // a large import answers a batch every few hundred ms: read the library at most every 2 s (and after the last)
        throttleTime(2000, undefined, { leading: true, trailing: true }),
        takeUntilDestroyed(this.destroyRef),
      )
      .subscribe(() => {
        this.store.reload();
        this.store.loadThumbnails();
        // analyse while the rest uploads (the end of the queue starts a job for what came after)
        if (!this.store.analysing()) this.store.startAnalysis();
      });
    this.upload.finished$
      .pipe(
        filter((lib) => lib === this.name()),
        takeUntilDestroyed(this.destroyRef),
      )
      .subscribe(() => this.store.startAnalysis());
  }

  // --- import ----------------------------------------------------------------------------------------------

  protected picked(event: Event): void {
    const input = event.target as HTMLInputElement;
    if (input.files?.length) this.startUpload(filesFromInput(input.files));
    input.value = '';
  }

  protected dragOver(event: DragEvent): void {
    if (!event.dataTransfer?.types.includes('Files')) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    this.dragging.set(true);
  }

  protected dragLeave(event: DragEvent): void {
    if (event.relatedTarget === null) this.dragging.set(false);
  }

  protected drop(event: DragEvent): void {
    if (!event.dataTransfer?.types.includes('Files')) return;
    event.preventDefault();
    this.dragging.set(false);
    void filesFromDrop(event.dataTransfer).then(
      (collected) => this.startUpload(collected),
      (error: unknown) => this.notify.error(error, 'Could not read the dropped files'),
    );
  }

  private startUpload(collected: Collected): void {
    if (!collected.items.length) {
      this.notify.info(collected.skipped ? `No audio files found (${collected.skipped} other files skipped)` : 'No audio files found');
      return;
    }
    this.showUploads.set(true);
    this.upload.start(this.name(), collected.items, collected.skipped);
  }

  // --- keyboard --------------------------------------------------------------------------------------------

  protected globalKey(event: KeyboardEvent): void {
    const target = event.target as HTMLElement | null;
    const typing = !!target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
    if (typing || this.dialog.openDialogs.length) return;
    if (event.key === '?') {
      event.preventDefault();
      this.help();
    } else if (event.key === '/') {
      event.preventDefault();
      this.search()?.nativeElement.focus();
    }
  }

  protected searchKey(event: KeyboardEvent): void {
    if (event.key === 'Escape' || event.key === 'ArrowDown' || event.key === 'Enter') {
      event.preventDefault();
      if (event.key === 'Escape' && this.store.query()) this.store.query.set('');
      this.table()?.focus();
      if (event.key !== 'Escape' && this.store.activeIndex() < 0) {
        const first = this.store.view()[0];
        if (first) this.table()?.activate(first.path);
      }
    }
  }

  protected command(command: TableCommand): void {
    switch (command) {
      case 'help': this.help(); break;
      case 'tag': this.detail()?.focusTag(); break;
      case 'class': this.detail()?.openClassMenu(); break;
      case 'similar': this.detail()?.focusSimilar(); break;
      case 'delete': this.confirmDelete(); break;
      case 'download': this.downloadActive(); break;
    }
  }

  protected help(): void {
    this.dialog.open(HelpOverlay, { width: '560px', autoFocus: 'dialog' });
  }

  protected dismissHint(): void {
    localStorage.setItem(HINT_KEY, '1');
    this.hint.set(false);
  }

  protected selectFromPanel(path: string): void {
    if (!this.store.viewPaths().has(path)) this.store.clearFilters();
    this.table()?.activate(path, true);
    this.table()?.focus();
  }

  protected confirmDelete(): void {
    const paths = this.store.targets();
    if (!paths.length) return;
    const data: ConfirmData = {
      title: paths.length === 1 ? `Delete “${paths[0]}”?` : `Delete ${paths.length} sounds?`,
      text: 'They are removed from the library with their tags. This cannot be undone.',
      action: 'Delete',
    };
    this.dialog
      .open(ConfirmDialog, { data })
      .afterClosed()
      .pipe(filter((yes) => yes === true))
      .subscribe(() => {
        for (const path of paths) this.player.forget(this.name(), path);
        this.store.remove(paths);
        this.table()?.focus();
      });
  }

  private downloadActive(): void {
    this.detail()?.downloadSound();
  }

  // --- export ----------------------------------------------------------------------------------------------

  protected exportZip(filter: ExportFilter): void {
    this.exporter.link(this.name(), filter).subscribe({
      next: (url) => {
        download(url);
        this.notify.info('Your ZIP download has started');
      },
      error: (error: unknown) => this.notify.error(error, 'Could not export'),
    });
  }

  protected exportCorrections(): void {
    this.corrections.csv(this.name()).subscribe({
      next: (blob) => {
        const url = URL.createObjectURL(blob);
        download(url, `${this.name()} - corrections.csv`);
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
      },
      error: (error: unknown) => this.notify.error(error, 'Could not export the corrections'),
    });
  }

  // --- duplicates ------------------------------------------------------------------------------------------

  protected findDuplicates(): void {
    const data: DuplicatesData = { lib: this.name() };
    this.dialog
      .open<DuplicatesDialog, DuplicatesData, DuplicatesResult>(DuplicatesDialog, { data, width: '680px', maxHeight: '85vh' })
      .afterClosed()
      .pipe(filter((result): result is DuplicatesResult => !!result && result.remove.length > 0))
      .subscribe((result) => {
        for (const path of result.remove) this.player.forget(this.name(), path);
        this.store.removed(result.remove);
      });
  }

  // --- map -------------------------------------------------------------------------------------------------

  private loadMap(): void {
    this.mapError.set(null);
    this.maps.get(this.name()).subscribe({
      next: (map) => this.points.set(map.points),
      error: (error: unknown) => {
        this.points.set([]);
        this.mapError.set('The map could not be loaded.');
        this.notify.error(error, 'Could not load the map');
      },
    });
  }

  protected mapHover(name: string | null): void {
    if (name !== null && this.autoplay()) void this.player.play(this.name(), name);
  }

  protected mapPick(name: string): void {
    this.store.select(name);
    void this.player.play(this.name(), name);
  }

  protected mapLasso(names: string[]): void {
    this.store.lasso.set(new Set(names));
  }

  /** A number field's value, or null when it is empty or not a number. */
  protected numberOrNull(value: unknown): number | null {
    if (value === null || value === undefined || value === '') return null;
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }

  protected focusTable(): void {
    this.table()?.focus();
  }
}
