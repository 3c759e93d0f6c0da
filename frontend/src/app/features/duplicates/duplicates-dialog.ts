import { ChangeDetectionStrategy, Component, OnInit, inject, signal } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MAT_DIALOG_DATA, MatDialogModule, MatDialogRef } from '@angular/material/dialog';
import { MatIconModule } from '@angular/material/icon';
import { MatProgressBarModule } from '@angular/material/progress-bar';
import { MatRadioModule } from '@angular/material/radio';

import { errorMessage } from '../../core/http-error';
import { PlayerService } from '../library/player.service';
import { DuplicateGroup, DuplicatesService } from './duplicates.service';

export interface DuplicatesData {
  lib: string;
}

/** What the dialog closes with: the sounds to delete (the user kept one of each group). */
export interface DuplicatesResult {
  remove: string[];
}

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
  protected readonly player = inject(PlayerService);

  protected readonly groups = signal<DuplicateGroup[] | null>(null);
  protected readonly error = signal<string | null>(null);
  /** The sound kept in each group (by index): the server's suggestion (its first) unless the user picks another. */
  protected readonly keep = signal<string[]>([]);
  protected readonly removeCount = signal(0);

  ngOnInit(): void {
    this.duplicates.groups(this.data.lib).subscribe({
      next: (answer) => {
        this.groups.set(answer.groups);
        this.keep.set(answer.groups.map((group) => group.samples[0].name));
        this.count();
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

  protected size(bytes: number): string {
    return bytes < 1024 * 1024 ? `${Math.round(bytes / 1024)} kB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }

  /** Keep the chosen sound of every group and delete the others. */
  protected resolve(): void {
    const groups = this.groups() ?? [];
    const keep = this.keep();
    const remove = groups.flatMap((group, i) => group.samples.map((s) => s.name).filter((name) => name !== keep[i]));
    this.ref.close({ remove });
  }

  private count(): void {
    this.removeCount.set((this.groups() ?? []).reduce((n, group) => n + group.samples.length - 1, 0));
  }
}
