import { ChangeDetectionStrategy, Component, OnInit, computed, inject, signal } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MAT_DIALOG_DATA, MatDialogModule, MatDialogRef } from '@angular/material/dialog';
import { MatIconModule } from '@angular/material/icon';
import { MatProgressBarModule } from '@angular/material/progress-bar';
import { MatRadioModule } from '@angular/material/radio';
import { concatMap, from } from 'rxjs';

import { DuplicateGroup } from '../../core/api/types';
import { errorMessage } from '../../core/http-error';
import { PlayerService } from '../library/player.service';
import { DuplicatesService } from './duplicates.service';

export interface DuplicatesData {
  lib: string;
}

/** What the dialog closes with: the sounds the server deleted (the user kept one of each group). */
export interface DuplicatesResult {
  remove: string[];
}

/** The radio value of "not duplicates: keep every sound of this group". */
export const KEEP_ALL = '';

/** Groups of the same recording under other names (re-encoded, resampled, gain-scaled, trimmed): keep one each. */
@Component({
  selector: 'app-duplicates-dialog',
  imports: [MatButtonModule, MatDialogModule, MatIconModule, MatProgressBarModule, MatRadioModule],
  templateUrl: './duplicates-dialog.html',
  styleUrl: './duplicates-dialog.scss',
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class DuplicatesDialog implements OnInit {
  private readonly data = inject<DuplicatesData>(MAT_DIALOG_DATA);
  private readonly ref = inject(MatDialogRef<DuplicatesDialog, DuplicatesResult>);
  private readonly duplicates = inject(DuplicatesService);
  private readonly player = inject(PlayerService);

  protected readonly keepAll = KEEP_ALL;
  protected readonly groups = signal<DuplicateGroup[] | null>(null);
  /** Samples not fingerprinted yet (stored before fingerprints existed): the next analysis makes theirs. */
  protected readonly pending = signal(0);
  protected readonly error = signal<string | null>(null);
  protected readonly busy = signal(false);
  /** The sound kept in each group (by index): the server's suggestion (its first) unless the user picks another. */
  protected readonly keep = signal<string[]>([]);
  /** What "Keep one of each" deletes: every sound of a group but the kept one (none where the user keeps all). */
  protected readonly plan = computed(() =>
    (this.groups() ?? []).map((group, i) => {
      const kept = this.keep()[i];
      return { keep: kept, remove: kept === KEEP_ALL ? [] : group.samples.map((s) => s.name).filter((n) => n !== kept) };
    }),
  );
  protected readonly removeCount = computed(() => this.plan().reduce((n, step) => n + step.remove.length, 0));

  /** Sounds deleted so far (also when a later group failed): the table drops them when the dialog closes. */
  private readonly removed: string[] = [];

  ngOnInit(): void {
    this.load();
  }

  private load(): void {
    this.duplicates.groups(this.data.lib).subscribe({
      next: (answer) => {
        this.pending.set(answer.pending);
        this.groups.set(answer.groups);
        this.keep.set(answer.groups.map((group) => group.samples[0].name));
      },
      error: (error: unknown) => this.error.set(errorMessage(error)),
    });
  }

  protected choose(index: number, name: string): void {
    this.keep.update((keep) => keep.map((k, i) => (i === index ? name : k)));
  }

  protected play(name: string): void {
    void this.player.play(this.data.lib, name);
  }

  protected fileName(path: string): string {
    return path.slice(path.lastIndexOf('/') + 1);
  }

  protected folderOf(path: string): string {
    const cut = path.lastIndexOf('/');
    return cut < 0 ? 'Library root' : path.slice(0, cut);
  }

  protected details(s: DuplicateGroup['samples'][number]): string {
    const parts = [this.folderOf(s.name), s.format ?? '?'];
    if (s.samplerate) parts.push(`${(s.samplerate / 1000).toFixed(s.samplerate % 1000 ? 1 : 0)} kHz`);
    if (s.duration !== null) parts.push(`${s.duration.toFixed(2)} s`);
    if (s.size !== null) parts.push(s.size < 1024 * 1024 ? `${Math.round(s.size / 1024)} kB` : `${(s.size / 1024 / 1024).toFixed(1)} MB`);
    if (s.isFavorite) parts.push('★');
    return parts.join(' · ');
  }

  /** Keep the chosen sound of every group and delete the others, one group (one transaction) at a time. */
  protected resolve(): void {
    const steps = this.plan().filter((step) => step.remove.length > 0);
    this.busy.set(true);
    this.error.set(null);
    from(steps)
      .pipe(concatMap((step) => this.duplicates.resolve(this.data.lib, step.keep, step.remove)))
      .subscribe({
        next: (answer) => this.removed.push(...answer.removed),
        complete: () => this.close(),
        error: (error: unknown) => {
          // the groups resolved before the failure are deleted: show what is left, with the server's reason
          this.busy.set(false);
          this.error.set(errorMessage(error));
          this.groups.set(null);
          this.load();
        },
      });
  }

  protected close(): void {
    this.ref.close({ remove: [...this.removed] });
  }
}
