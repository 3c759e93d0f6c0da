import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { toSignal } from '@angular/core/rxjs-interop';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatIconModule } from '@angular/material/icon';
import { MatInputModule } from '@angular/material/input';
import { MatProgressBarModule } from '@angular/material/progress-bar';
import { ActivatedRoute, Router, RouterLink } from '@angular/router';

import { AuthService } from '../../core/auth/auth.service';
import { errorMessage } from '../../core/http-error';

/** Sign-in and registration (one form; the route's `mode` says which), with the server's messages. */
@Component({
  selector: 'app-auth-page',
  imports: [FormsModule, MatButtonModule, MatFormFieldModule, MatIconModule, MatInputModule, MatProgressBarModule, RouterLink],
  template: `
    <main class="page">
      <form class="card" (ngSubmit)="submit()" aria-labelledby="auth-title">
        <div class="brand"><mat-icon aria-hidden="true">graphic_eq</mat-icon> DrumSampler</div>
        <h1 id="auth-title">{{ register() ? 'Create your account' : 'Sign in' }}</h1>
        <p class="lead">
          {{ register() ? 'Your samples stay on this server: nothing leaves it.' : 'Your drum library, searchable and playable in seconds.' }}
        </p>
        @if (expired()) { <p class="note" role="status">Your session ended. Sign in again to go on.</p> }
        <mat-form-field appearance="outline">
          <mat-label>Mail</mat-label>
          <input matInput name="mail" type="email" autocomplete="username" required
                 [ngModel]="mail()" (ngModelChange)="mail.set($event)" />
        </mat-form-field>
        <mat-form-field appearance="outline">
          <mat-label>Password</mat-label>
          <input matInput name="password" [type]="showPassword() ? 'text' : 'password'" required
                 [attr.autocomplete]="register() ? 'new-password' : 'current-password'"
                 [ngModel]="password()" (ngModelChange)="password.set($event)" />
          <button mat-icon-button matSuffix type="button" (click)="showPassword.set(!showPassword())"
                  [attr.aria-label]="showPassword() ? 'Hide password' : 'Show password'">
            <mat-icon>{{ showPassword() ? 'visibility_off' : 'visibility' }}</mat-icon>
          </button>
          @if (register()) {
            <mat-hint>At least 8 characters and hard to guess: a few unrelated words work well.</mat-hint>
          }
        </mat-form-field>
        @if (error()) { <p class="error" role="alert">{{ error() }}</p> }
        @if (busy()) { <mat-progress-bar mode="indeterminate" /> }
        <button mat-flat-button type="submit" [disabled]="busy() || !mail() || !password()">
          {{ register() ? 'Create account' : 'Sign in' }}
        </button>
        <p class="switch">
          @if (register()) {
            Already have an account? <a routerLink="/login">Sign in instead</a>
          } @else {
            New here? <a routerLink="/register">Create an account</a>
          }
        </p>
      </form>
    </main>
  `,
  styles: `
    .page { min-height: 100%; display: grid; place-items: center; padding: 24px; box-sizing: border-box; }
    .card {
      width: 400px; max-width: 100%; display: flex; flex-direction: column; gap: 8px; padding: 32px;
      border-radius: 16px; background: var(--mat-sys-surface-container); box-sizing: border-box;
    }
    .brand { display: flex; align-items: center; gap: 8px; color: var(--mat-sys-primary); font-weight: 500; }
    h1 { margin: 8px 0 0; font: var(--mat-sys-headline-small); }
    .lead { margin: 0 0 12px; color: var(--mat-sys-on-surface-variant); }
    .note { margin: 0; color: var(--mat-sys-tertiary); }
    .error { margin: 0; color: var(--mat-sys-error); }
    .switch { margin: 8px 0 0; color: var(--mat-sys-on-surface-variant); }
    mat-hint { white-space: normal; }
    mat-form-field + mat-form-field { margin-top: 8px; }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class AuthPage {
  private readonly auth = inject(AuthService);
  private readonly router = inject(Router);
  private readonly route = inject(ActivatedRoute);
  private readonly data = toSignal(this.route.data);
  private readonly query = toSignal(this.route.queryParamMap);

  protected readonly register = computed(() => this.data()?.['mode'] === 'register');
  protected readonly expired = computed(() => this.query()?.get('expired') === '1');
  protected readonly mail = signal('');
  protected readonly password = signal('');
  protected readonly showPassword = signal(false);
  protected readonly busy = signal(false);
  protected readonly error = signal('');

  protected submit(): void {
    if (this.busy()) return;
    this.busy.set(true);
    this.error.set('');
    const mail = this.mail().trim();
    const request = this.register() ? this.auth.register(mail, this.password()) : this.auth.login(mail, this.password());
    request.subscribe({
      next: () => {
        const returnUrl = this.query()?.get('returnUrl');
        void this.router.navigateByUrl(returnUrl?.startsWith('/') && !returnUrl.startsWith('//') ? returnUrl : '/libraries');
      },
      error: (error: unknown) => {
        this.error.set(errorMessage(error));
        this.busy.set(false);
      },
    });
  }
}
