import { ChangeDetectionStrategy, Component, OnInit, inject, signal } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatDialog } from '@angular/material/dialog';
import { MatIconModule } from '@angular/material/icon';
import { MatProgressBarModule } from '@angular/material/progress-bar';
import { MatTooltipModule } from '@angular/material/tooltip';
import { Router, RouterLink } from '@angular/router';
import { filter, forkJoin, of, switchMap, catchError } from 'rxjs';

import { NotifyService } from '../../core/notify.service';
import { ConfirmDialog, ConfirmData } from '../../shared/confirm-dialog';
import { NameDialog, NameData } from '../../shared/name-dialog';
import { TopBar } from '../../shared/top-bar';
import { LibrariesService } from './libraries.service';

interface LibraryCard {
  name: string;
  count: number | null;
}

/** The user's libraries with their sizes: open, create, rename, delete. */
@Component({
  selector: 'app-libraries-page',
  imports: [MatButtonModule, MatIconModule, MatProgressBarModule, MatTooltipModule, RouterLink, TopBar],
  template: `
    <app-top-bar><h1 class="title">Libraries</h1></app-top-bar>
    @if (loading()) { <mat-progress-bar mode="indeterminate" aria-label="Loading libraries" /> }
    <main class="page">
      <div class="head">
        <p class="lead">A library is a set of sounds: import a folder into one, and DrumSampler tags, maps and
          connects its sounds.</p>
        <button mat-flat-button type="button" (click)="create()"><mat-icon>add</mat-icon>New library</button>
      </div>
      @if (!loading() && cards().length === 0) {
        <section class="empty">
          <mat-icon aria-hidden="true">library_music</mat-icon>
          <h2>No libraries yet</h2>
          <p>Create one, then drop a folder of samples on it: rows appear while they upload, and analysis starts by itself.</p>
          <button mat-flat-button type="button" (click)="create()">Create your first library</button>
        </section>
      }
      <ul class="grid">
        @for (card of cards(); track card.name) {
          <li class="card" data-testid="library-card">
            <a class="open" [routerLink]="['/libraries', card.name]">
              <mat-icon aria-hidden="true">folder_special</mat-icon>
              <span class="name">{{ card.name }}</span>
              <span class="count">{{ card.count === null ? '…' : card.count + (card.count === 1 ? ' sound' : ' sounds') }}</span>
            </a>
            <div class="actions">
              <button mat-icon-button type="button" [attr.aria-label]="'Rename ' + card.name" matTooltip="Rename"
                      (click)="rename(card.name)"><mat-icon>edit</mat-icon></button>
              <button mat-icon-button type="button" [attr.aria-label]="'Delete ' + card.name" matTooltip="Delete"
                      (click)="remove(card.name)"><mat-icon>delete</mat-icon></button>
            </div>
          </li>
        }
      </ul>
    </main>
  `,
  styles: `
    .title { font: var(--mat-sys-title-large); margin: 0 0 0 16px; }
    .page { max-width: 1100px; margin: 0 auto; padding: 24px; }
    .head { display: flex; align-items: center; gap: 24px; justify-content: space-between; }
    .lead { color: var(--mat-sys-on-surface-variant); margin: 0; }
    .grid { list-style: none; padding: 0; margin: 24px 0; display: grid; gap: 16px;
      grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); }
    .card { display: flex; align-items: flex-start; border-radius: 12px; background: var(--mat-sys-surface-container);
      border: 1px solid var(--mat-sys-outline-variant); }
    .card:hover { border-color: var(--mat-sys-primary); }
    .open { flex: 1; display: grid; grid-template-columns: auto 1fr; column-gap: 12px; padding: 16px;
      color: inherit; text-decoration: none; min-width: 0; }
    .open mat-icon { grid-row: span 2; color: var(--mat-sys-primary); }
    .name { font: var(--mat-sys-title-medium); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .count { color: var(--mat-sys-on-surface-variant); font-size: 13px; }
    .actions { display: flex; padding: 4px; }
    .empty { text-align: center; padding: 48px 16px; color: var(--mat-sys-on-surface-variant); }
    .empty mat-icon { font-size: 56px; width: 56px; height: 56px; color: var(--mat-sys-primary); }
    .empty h2 { color: var(--mat-sys-on-surface); }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class LibrariesPage implements OnInit {
  private readonly libraries = inject(LibrariesService);
  private readonly dialog = inject(MatDialog);
  private readonly notify = inject(NotifyService);
  private readonly router = inject(Router);

  protected readonly cards = signal<LibraryCard[]>([]);
  protected readonly loading = signal(true);

  ngOnInit(): void {
    this.load();
  }

  private load(): void {
    this.libraries
      .list()
      .pipe(
        switchMap((names) => {
          this.cards.set(names.map((name) => ({ name, count: null })));
          if (!names.length) return of([] as number[]);
          return forkJoin(names.map((name) => this.libraries.count(name).pipe(catchError(() => of(null)))));
        }),
      )
      .subscribe({
        next: (counts) => {
          this.cards.update((cards) => cards.map((card, i) => ({ ...card, count: counts[i] ?? null })));
          this.loading.set(false);
        },
        error: (error: unknown) => {
          this.loading.set(false);
          this.notify.error(error, 'Could not list your libraries');
        },
      });
  }

  protected create(): void {
    const data: NameData = { title: 'New library', label: 'Library name', action: 'Create' };
    this.dialog
      .open(NameDialog, { data })
      .afterClosed()
      .pipe(
        filter((name): name is string => !!name),
        switchMap((name) => this.libraries.create(name).pipe(switchMap(() => of(name)))),
      )
      .subscribe({
        next: (name) => void this.router.navigate(['/libraries', name]),
        error: (error: unknown) => this.notify.error(error, 'Could not create the library'),
      });
  }

  protected rename(name: string): void {
    const data: NameData = { title: `Rename “${name}”`, label: 'Library name', action: 'Rename', value: name };
    this.dialog
      .open(NameDialog, { data })
      .afterClosed()
      .pipe(
        filter((newName): newName is string => !!newName && newName !== name),
        switchMap((newName) => this.libraries.rename(name, newName)),
      )
      .subscribe({
        next: () => this.load(),
        error: (error: unknown) => this.notify.error(error, 'Could not rename the library'),
      });
  }

  protected remove(name: string): void {
    const data: ConfirmData = {
      title: `Delete “${name}”?`,
      text: 'Its sounds, tags, favourites and analysis are deleted from the server. This cannot be undone.',
      action: 'Delete',
    };
    this.dialog
      .open(ConfirmDialog, { data })
      .afterClosed()
      .pipe(
        filter((yes) => yes === true),
        switchMap(() => this.libraries.remove(name)),
      )
      .subscribe({
        next: () => {
          this.notify.info(`Deleted “${name}”`);
          this.load();
        },
        error: (error: unknown) => this.notify.error(error, 'Could not delete the library'),
      });
  }
}
