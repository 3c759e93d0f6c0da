import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatIconModule } from '@angular/material/icon';
import { MatTooltipModule } from '@angular/material/tooltip';
import { RouterLink } from '@angular/router';

import { AuthService } from '../core/auth/auth.service';

/** The app's top bar: brand (back to the libraries), the page's own content, the account and sign-out. */
@Component({
  selector: 'app-top-bar',
  imports: [MatButtonModule, MatIconModule, MatTooltipModule, RouterLink],
  template: `
    <header class="bar">
      <a class="brand" routerLink="/libraries" aria-label="DrumSampler: all libraries">
        <mat-icon aria-hidden="true">graphic_eq</mat-icon><span>DrumSampler</span>
      </a>
      <div class="content"><ng-content /></div>
      @if (auth.mail(); as mail) {
        <span class="mail">{{ mail }}</span>
      }
      <button mat-icon-button type="button" aria-label="Sign out" matTooltip="Sign out" (click)="auth.logout()">
        <mat-icon>logout</mat-icon>
      </button>
    </header>
  `,
  styles: `
    .bar {
      display: flex; align-items: center; gap: 12px; height: 56px; padding: 0 8px 0 16px;
      background: var(--mat-sys-surface-container); border-bottom: 1px solid var(--mat-sys-outline-variant);
    }
    .brand {
      display: flex; align-items: center; gap: 8px; color: var(--mat-sys-primary); text-decoration: none;
      font-weight: 500; font-size: 18px; white-space: nowrap;
    }
    .content { flex: 1; display: flex; align-items: center; gap: 8px; min-width: 0; }
    .mail { color: var(--mat-sys-on-surface-variant); font-size: 13px; white-space: nowrap; }
    @media (max-width: 1100px) { .mail { display: none; } }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class TopBar {
  protected readonly auth = inject(AuthService);
}
