import { HttpErrorResponse, HttpInterceptorFn, HttpRequest } from '@angular/common/http';
import { inject } from '@angular/core';
import { Router } from '@angular/router';
import { catchError, switchMap, throwError } from 'rxjs';

import { AuthService } from './auth.service';

/** Routes that carry no access token: sign-in, registration, and the refresh (which sends its own). */
const PUBLIC = ['/login', '/register', '/refresh', '/health', '/openapi.json'];

function isPublic(req: HttpRequest<unknown>): boolean {
  return PUBLIC.some((path) => req.url === path || req.url.startsWith(`${path}?`));
}

function withToken(req: HttpRequest<unknown>, token: string | null): HttpRequest<unknown> {
  return token ? req.clone({ setHeaders: { Authorization: `Bearer ${token}` } }) : req;
}

/** Adds the bearer token; on a 401 refreshes it once and retries; when that fails, sends the user to sign-in. */
export const authInterceptor: HttpInterceptorFn = (req, next) => {
  if (isPublic(req) || req.url.startsWith('http')) return next(req);
  const auth = inject(AuthService);
  const router = inject(Router);
  return next(withToken(req, auth.token())).pipe(
    catchError((error: unknown) => {
      if (!(error instanceof HttpErrorResponse) || error.status !== 401 || !auth.token()) {
        return throwError(() => error);
      }
      return auth.refresh().pipe(
        catchError((refreshError: unknown) => {
          auth.expire(router.url);
          return throwError(() => refreshError);
        }),
        switchMap((token) => next(withToken(req, token))),
      );
    }),
  );
};
