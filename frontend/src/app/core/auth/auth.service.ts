import { HttpClient } from '@angular/common/http';
import { Injectable, computed, inject, signal } from '@angular/core';
import { Router } from '@angular/router';
import { Observable, finalize, map, shareReplay, tap } from 'rxjs';

import type { AccessToken, Tokens } from '../api/types';

export const TOKEN_KEY = 'ds.token';
export const REFRESH_KEY = 'ds.refreshToken';

/** The account resource: register, sign in, refresh and sign out; keeps the tokens in localStorage. */
@Injectable({ providedIn: 'root' })
export class AuthService {
  private readonly http = inject(HttpClient);
  private readonly router = inject(Router);
  private readonly tokenState = signal<string | null>(localStorage.getItem(TOKEN_KEY));
  private refreshing: Observable<string> | null = null;

  readonly token = this.tokenState.asReadonly();
  readonly signedIn = computed(() => this.tokenState() !== null);
  /** The signed-in mail, read from the access token's `mail` claim. */
  readonly mail = computed(() => claim(this.tokenState(), 'mail'));

  login(mail: string, password: string): Observable<void> {
    return this.http.post<Tokens>('/login', { mail, password }).pipe(map((tokens) => this.store(tokens)));
  }

  register(mail: string, password: string): Observable<void> {
    return this.http.post<Tokens>('/register', { mail, password }).pipe(map((tokens) => this.store(tokens)));
  }

  /** A new access token from the refresh token; concurrent callers share one request. */
  refresh(): Observable<string> {
    if (!this.refreshing) {
      const refreshToken = localStorage.getItem(REFRESH_KEY) ?? '';
      this.refreshing = this.http
        .post<AccessToken>('/refresh', null, { headers: { Authorization: `Bearer ${refreshToken}` } })
        .pipe(
          map((body) => body.token),
          tap((token) => this.setToken(token)),
          finalize(() => (this.refreshing = null)),
          shareReplay(1),
        );
    }
    return this.refreshing;
  }

  /** Revokes the session on the server (best effort), forgets the tokens and goes to sign-in. */
  logout(): void {
    if (this.tokenState()) {
      this.http.post('/logout', null).subscribe({ error: () => undefined });
    }
    this.forget();
    void this.router.navigate(['/login']);
  }

  /** Forgets the tokens and sends the user to sign-in, back to `returnUrl` afterwards. */
  expire(returnUrl: string): void {
    this.forget();
    void this.router.navigate(['/login'], { queryParams: { returnUrl, expired: 1 } });
  }

  private store(tokens: Tokens): void {
    if (tokens.refreshToken) localStorage.setItem(REFRESH_KEY, tokens.refreshToken);
    this.setToken(tokens.token);
  }

  private setToken(token: string): void {
    localStorage.setItem(TOKEN_KEY, token);
    this.tokenState.set(token);
  }

  private forget(): void {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(REFRESH_KEY);
    this.tokenState.set(null);
  }
}

/** A string claim of a JWT's payload, or null (the token is not verified here: the server does that). */
export function claim(token: string | null, name: string): string | null {
  if (!token) return null;
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const text = new TextDecoder().decode(Uint8Array.from(atob(payload), (c) => c.charCodeAt(0)));
    const value = (JSON.parse(text) as Record<string, unknown>)[name];
    return typeof value === 'string' ? value : null;
  } catch {
    return null;
  }
}
