import { CdkVirtualScrollViewport, ScrollingModule } from '@angular/cdk/scrolling';
import { ChangeDetectionStrategy, Component, ElementRef, computed, effect, inject, input, output, untracked, viewChild } from '@angular/core';
import { MatIconModule } from '@angular/material/icon';
import { MatTooltipModule } from '@angular/material/tooltip';

import { subclassAddsDetail } from '../../core/api/types';
import { LibraryStore, Row, SortKey } from './library.store';
import { PlayerService, logTiming } from './player.service';
import { SamplesService } from './samples.service';
import { Thumb } from './thumb';

export const ROW_HEIGHT = 40;
export type TableCommand = 'similar' | 'tag' | 'class' | 'delete' | 'help' | 'download';

const MIME: Readonly<Record<string, string>> = {
  WAV: 'audio/wav', AIFF: 'audio/aiff', FLAC: 'audio/flac', OGG: 'audio/ogg', MP3: 'audio/mpeg',
};

/** Links to the audio that need no header (for drag-out), fetched when a row is pressed. */
const LINK_MARGIN_MS = 30_000;

interface Column {
  key: SortKey;
  label: string;
  cls: string;
}

/**
 * The library's table: a fixed-height virtual scroll that stays smooth at 10 000+ rows, driven by the keyboard
 * (the active row is a signal; `aria-activedescendant` points at it) and by clicks; selecting plays at once.
 */
@Component({
  selector: 'app-sample-table',
  imports: [MatIconModule, MatTooltipModule, ScrollingModule, Thumb],
  templateUrl: './sample-table.html',
  styleUrl: './sample-table.scss',
  changeDetection: ChangeDetectionStrategy.OnPush,
  host: { '(window:resize)': 'viewport().checkViewportSize()' },
})
export class SampleTable {
  protected readonly store = inject(LibraryStore);
  protected readonly player = inject(PlayerService);
  private readonly samples = inject(SamplesService);
  protected readonly viewport = viewChild.required(CdkVirtualScrollViewport);
  private readonly grid = viewChild.required<ElementRef<HTMLElement>>('grid');
  readonly command = output<TableCommand>();
  /** Selecting a row plays it. */
  readonly autoplay = input(true);
  private readonly links = new Map<string, { url: string; until: number }>();

  protected readonly rowHeight = ROW_HEIGHT;
  protected readonly columns: Column[] = [
    { key: 'favorite', label: 'Favourite', cls: 'c-star' },
    { key: 'name', label: 'Name', cls: 'c-name' },
    { key: 'path', label: 'Waveform', cls: 'c-wave' },
    { key: 'class', label: 'Class', cls: 'c-class' },
    { key: 'bpm', label: 'BPM', cls: 'c-bpm' },
    { key: 'confidence', label: 'Tags', cls: 'c-tags' },
    { key: 'duration', label: 'Duration', cls: 'c-dur' },
  ];

  /** The BPM column shows once any sound has a tempo (loops). */
  protected readonly shownColumns = computed(() =>
    this.store.hasTempo() ? this.columns : this.columns.filter((column) => column.key !== 'bpm'),
  );

  constructor() {
    // keep the active row in sight and its neighbours decoded
    effect(() => {
      const index = this.store.activeIndex();
      if (index < 0) return;
      untracked(() => {
        this.reveal(index);
        const view = this.store.view();
        const around = [index + 1, index - 1, index + 2, index + 3, index - 2]
          .filter((i) => i >= 0 && i < view.length)
          .map((i) => view[i].path);
        this.player.preload(this.store.lib(), [view[index].path, ...around]);
      });
    });
  }

  /** Puts the keyboard focus on the table. */
  focus(): void {
    this.grid().nativeElement.focus();
  }

  /** Selects a row and plays it (auto-play on), as a click does; the map uses it too. */
  activate(path: string, play = this.autoplay()): void {
    this.store.select(path);
    if (play) void this.player.play(this.store.lib(), path);
  }

  protected trackRow(_index: number, row: Row): string {
    return row.path;
  }

  protected rowId(path: string): string {
    return `row-${encodeURIComponent(path).replace(/[^A-Za-z0-9_-]/g, '_')}`;
  }

  protected activeId(): string | null {
    const active = this.store.active();
    return active === null ? null : this.rowId(active);
  }

  protected sortState(key: SortKey): 'ascending' | 'descending' | 'none' {
    const sort = this.store.sort();
    if (sort.key !== key) return 'none';
    return sort.descending ? 'descending' : 'ascending';
  }

  protected showSubclass(row: Row): boolean {
    return subclassAddsDetail(row.subclass);
  }

  protected classLabel(row: Row): string {
    if (!row.shownClass) return row.analysed ? '—' : 'Not analysed';
    if (row.corrected) return row.shownClass;
    return `${row.shownClass} ${Math.round((row.likelihood ?? 0) * 100)}%`;
  }

  protected duration(row: Row): string {
    return row.duration < 10 ? `${row.duration.toFixed(2)} s` : `${row.duration.toFixed(1)} s`;
  }

  protected pressed(event: MouseEvent, row: Row): void {
    this.player.resume();
    this.prefetchLink(row.path);
    if (event.shiftKey) event.preventDefault(); // no text selection on Shift-click
  }

  protected clicked(event: MouseEvent, row: Row): void {
    this.focus();
    if (event.ctrlKey || event.metaKey) {
      this.store.select(row.path, 'toggle');
    } else if (event.shiftKey) {
      this.store.select(row.path, 'range');
    } else {
      this.activate(row.path, true);
    }
  }

  protected favourite(event: MouseEvent, row: Row): void {
    event.stopPropagation();
    this.store.toggleFavorite([row.path]);
  }

  protected dragStart(event: DragEvent, row: Row): void {
    const link = this.links.get(row.path);
    if (!event.dataTransfer) return;
    event.dataTransfer.effectAllowed = 'copy';
    event.dataTransfer.setData('text/plain', row.path);
    if (link && link.until > Date.now()) {
      const url = new URL(link.url, location.origin).href;
      const mime = MIME[row.format.toUpperCase()] ?? 'application/octet-stream';
      event.dataTransfer.setData('DownloadURL', `${mime}:${row.fileName.replace(/:/g, '_')}:${url}`);
      event.dataTransfer.setData('text/uri-list', url);
    }
  }

  protected keydown(event: KeyboardEvent): void {
    if (event.altKey) return;
    const view = this.store.view();
    const index = this.store.activeIndex();
    const page = Math.max(1, Math.floor(this.viewport().getViewportSize() / ROW_HEIGHT) - 1);
    const ctrl = event.ctrlKey || event.metaKey;
    let target = -1;
    switch (event.key) {
      case 'ArrowDown': target = Math.min(view.length - 1, index + 1); break;
      case 'ArrowUp': target = index < 0 ? 0 : Math.max(0, index - 1); break;
      case 'PageDown': target = Math.min(view.length - 1, Math.max(index, 0) + page); break;
      case 'PageUp': target = Math.max(0, index - page); break;
      case 'Home': target = 0; break;
      case 'End': target = view.length - 1; break;
      case ' ':
      case 'Enter':
        event.preventDefault();
        this.player.resume();
        this.togglePlay(event.key === 'Enter');
        return;
      case 'Escape':
        if (this.player.state() !== 'idle') this.player.stop();
        else this.store.selection.set(new Set());
        return;
      case 'Delete':
      case 'Backspace':
        event.preventDefault();
        this.command.emit('delete');
        return;
      default:
        if (ctrl && event.key.toLowerCase() === 'a') {
          event.preventDefault();
          this.store.selectAll();
        } else if (!ctrl) {
          this.letter(event);
        }
        return;
    }
    event.preventDefault();
    if (target < 0 || !view.length) return;
    logTiming('keyDowns', { key: event.key, at: event.timeStamp });
    this.player.resume();
    const path = view[target].path;
    if (event.shiftKey) this.store.select(path, 'range');
    else this.store.select(path);
    if (!this.autoplay()) return;
    const lib = this.store.lib();
    // a held key repeats fast: play only sounds that are ready, so that scrolling does not queue every row
    if (!event.repeat || this.player.isReady(lib, path)) void this.player.play(lib, path);
  }

  private letter(event: KeyboardEvent): void {
    const commands: Record<string, TableCommand> = { s: 'similar', t: 'tag', c: 'class', d: 'download', '?': 'help' };
    const key = event.key.toLowerCase();
    if (key === 'f') {
      event.preventDefault();
      this.store.toggleFavorite(this.store.targets());
    } else if (commands[event.key] ?? commands[key]) {
      event.preventDefault();
      this.command.emit(commands[event.key] ?? commands[key]);
    }
  }

  private togglePlay(restart: boolean): void {
    const active = this.store.active();
    if (active === null) {
      const first = this.store.view()[0];
      if (first) this.activate(first.path, true);
      return;
    }
    if (this.player.state() === 'playing' && !restart) this.player.stop();
    else void this.player.play(this.store.lib(), active);
  }

  private reveal(index: number): void {
    const viewport = this.viewport();
    const top = index * ROW_HEIGHT;
    const offset = viewport.measureScrollOffset('top');
    const size = viewport.getViewportSize();
    if (top < offset) viewport.scrollToOffset(top);
    else if (top + ROW_HEIGHT > offset + size) viewport.scrollToOffset(top + ROW_HEIGHT - size);
  }

  private prefetchLink(path: string): void {
    const known = this.links.get(path);
    if (known && known.until > Date.now()) return;
    this.samples.audioUrl(this.store.lib(), path).subscribe({
      next: (answer) => this.links.set(path, { url: answer.url, until: Date.now() + answer.expiresIn * 1000 - LINK_MARGIN_MS }),
      error: () => undefined,
    });
  }
}
