import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { provideZonelessChangeDetection } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { Router, provideRouter } from '@angular/router';

import { authInterceptor } from './auth.interceptor';
import { AuthService, REFRESH_KEY, TOKEN_KEY, claim } from './auth.service';

/** A JWT-shaped token (unsigned) whose payload carries `claims`, base64url without padding. */
function fakeJwt(claims: Record<string, unknown>): string {
  const b64url = (text: string) => btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url(JSON.stringify(claims))}.signature`;
}

describe('AuthService', () => {
  let http: HttpTestingController;
  let navigate: ReturnType<typeof vi.spyOn>;

  function setup(): AuthService {
    TestBed.configureTestingModule({
      providers: [
        provideZonelessChangeDetection(),
        provideRouter([]),
        provideHttpClient(withInterceptors([authInterceptor])),
        provideHttpClientTesting(),
      ],
    });
    http = TestBed.inject(HttpTestingController);
    navigate = vi.spyOn(TestBed.inject(Router), 'navigate').mockResolvedValue(true);
    return TestBed.inject(AuthService);
  }

  beforeEach(() => localStorage.clear());
  afterEach(() => {
    http.verify();
    localStorage.clear();
  });

  it('starts signed out without stored tokens', () => {
    const auth = setup();
    expect(auth.signedIn()).toBe(false);
    expect(auth.token()).toBeNull();
    expect(auth.mail()).toBeNull();
  });

  it('starts signed in with the stored token and reads its mail claim', () => {
    const token = fakeJwt({ mail: 'ann@example.com' });
    localStorage.setItem(TOKEN_KEY, token);
    const auth = setup();
    expect(auth.signedIn()).toBe(true);
    expect(auth.token()).toBe(token);
    expect(auth.mail()).toBe('ann@example.com');
  });

  it('login posts the credentials, stores both tokens and signs in', () => {
    const auth = setup();
    const token = fakeJwt({ mail: 'ann@example.com', sub: 1 });
    let done = 0;
    auth.login('ann@example.com', 'correct horse battery').subscribe(() => done++);

    const req = http.expectOne('/login');
    expect(req.request.method).toBe('POST');
    expect(req.request.body).toEqual({ mail: 'ann@example.com', password: 'correct horse battery' });
    expect(req.request.headers.has('Authorization')).toBe(false);
    req.flush({ token, refreshToken: 'refresh-1' });

    expect(done).toBe(1);
    expect(localStorage.getItem(TOKEN_KEY)).toBe(token);
    expect(localStorage.getItem(REFRESH_KEY)).toBe('refresh-1');
    expect(auth.signedIn()).toBe(true);
    expect(auth.token()).toBe(token);
    expect(auth.mail()).toBe('ann@example.com');
  });

  it('register posts the credentials, stores both tokens and signs in', () => {
    const auth = setup();
    const token = fakeJwt({ mail: 'bob@example.org' });
    auth.register('bob@example.org', 'a long enough passphrase').subscribe();

    const req = http.expectOne('/register');
    expect(req.request.method).toBe('POST');
    expect(req.request.body).toEqual({ mail: 'bob@example.org', password: 'a long enough passphrase' });
    req.flush({ token, refreshToken: 'refresh-2' });

    expect(localStorage.getItem(TOKEN_KEY)).toBe(token);
    expect(localStorage.getItem(REFRESH_KEY)).toBe('refresh-2');
    expect(auth.signedIn()).toBe(true);
    expect(auth.mail()).toBe('bob@example.org');
  });

  it('a failed login stores nothing and stays signed out', () => {
    const auth = setup();
    let failed: unknown = null;
    auth.login('ann@example.com', 'wrong').subscribe({ error: (e: unknown) => (failed = e) });
    http.expectOne('/login').flush({ message: 'wrong mail or password' }, { status: 401, statusText: 'Unauthorized' });
    expect(failed).not.toBeNull();
    expect(auth.signedIn()).toBe(false);
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull();
    expect(localStorage.getItem(REFRESH_KEY)).toBeNull();
  });

  it('refresh sends the refresh token as Bearer, stores the new token, and shares one request between callers', () => {
    localStorage.setItem(TOKEN_KEY, fakeJwt({ mail: 'ann@example.com' }));
    localStorage.setItem(REFRESH_KEY, 'refresh-1');
    const auth = setup();
    const fresh = fakeJwt({ mail: 'ann@example.com', n: 2 });
    const got: string[] = [];
    auth.refresh().subscribe((t) => got.push(`a:${t}`));
    auth.refresh().subscribe((t) => got.push(`b:${t}`));

    const req = http.expectOne('/refresh');
    expect(req.request.method).toBe('POST');
    expect(req.request.headers.get('Authorization')).toBe('Bearer refresh-1');
    req.flush({ token: fresh });

    expect(got).toEqual([`a:${fresh}`, `b:${fresh}`]);
    expect(auth.token()).toBe(fresh);
    expect(localStorage.getItem(TOKEN_KEY)).toBe(fresh);
    expect(localStorage.getItem(REFRESH_KEY)).toBe('refresh-1');

    // once finished, the next refresh is a new request
    auth.refresh().subscribe();
    http.expectOne('/refresh').flush({ token: 'third' });
    expect(auth.token()).toBe('third');
  });

  it('logout posts /logout with the access token, forgets the tokens and goes to sign-in', () => {
    const token = fakeJwt({ mail: 'ann@example.com' });
    localStorage.setItem(TOKEN_KEY, token);
    localStorage.setItem(REFRESH_KEY, 'refresh-1');
    const auth = setup();

    auth.logout();

    const req = http.expectOne('/logout');
    expect(req.request.method).toBe('POST');
    expect(req.request.headers.get('Authorization')).toBe(`Bearer ${token}`);
    expect(auth.signedIn()).toBe(false);
    expect(auth.mail()).toBeNull();
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull();
    expect(localStorage.getItem(REFRESH_KEY)).toBeNull();
    expect(navigate).toHaveBeenCalledWith(['/login']);

    // a failing logout (e.g. an expired token) is ignored: no refresh, no error
    req.flush({ message: 'token expired' }, { status: 401, statusText: 'Unauthorized' });
    http.expectNone('/refresh');
  });

  it('logout when signed out only goes to sign-in', () => {
    const auth = setup();
    auth.logout();
    http.expectNone('/logout');
    expect(navigate).toHaveBeenCalledWith(['/login']);
  });

  it('expire forgets the tokens and goes to sign-in with the return URL', () => {
    localStorage.setItem(TOKEN_KEY, fakeJwt({ mail: 'ann@example.com' }));
    localStorage.setItem(REFRESH_KEY, 'refresh-1');
    const auth = setup();
    auth.expire('/libraries/My%20Drums');
    expect(auth.signedIn()).toBe(false);
    expect(localStorage.getItem(REFRESH_KEY)).toBeNull();
    expect(navigate).toHaveBeenCalledWith(['/login'], { queryParams: { returnUrl: '/libraries/My%20Drums', expired: 1 } });
  });
});

describe('claim', () => {
  it('reads a string claim from a base64url payload', () => {
    // '?>' encodes to base64 with '/' and '+' characters, which base64url replaces
    const token = fakeJwt({ mail: 'a?>b@example.com', other: '~~~>>>' });
    expect(token.split('.')[1]).toMatch(/[-_]/);
    expect(claim(token, 'mail')).toBe('a?>b@example.com');
    expect(claim(token, 'other')).toBe('~~~>>>');
  });

  it('answers null for a missing or non-string claim and for malformed tokens', () => {
    expect(claim(fakeJwt({ sub: 7 }), 'sub')).toBeNull();
    expect(claim(fakeJwt({ sub: 7 }), 'mail')).toBeNull();
    expect(claim(null, 'mail')).toBeNull();
    expect(claim('not-a-jwt', 'mail')).toBeNull();
    expect(claim('a.%%%.c', 'mail')).toBeNull();
  });
});
