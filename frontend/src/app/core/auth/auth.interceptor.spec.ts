import { HttpClient, HttpErrorResponse, provideHttpClient, withInterceptors } from '@angular/common/http';
import { HttpTestingController, TestRequest, provideHttpClientTesting } from '@angular/common/http/testing';
import { Component, provideZonelessChangeDetection } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { Router, provideRouter } from '@angular/router';

import { authInterceptor } from './auth.interceptor';
import { AuthService, REFRESH_KEY, TOKEN_KEY } from './auth.service';

@Component({ template: '' })
class Blank {}

const ACCESS = 'access-1';
const REFRESH = 'refresh-1';
const unauthorized = { status: 401, statusText: 'Unauthorized' };

describe('authInterceptor', () => {
  let http: HttpTestingController;
  let client: HttpClient;
  let router: Router;

  function setup(signedIn = true): AuthService {
    if (signedIn) {
      localStorage.setItem(TOKEN_KEY, ACCESS);
      localStorage.setItem(REFRESH_KEY, REFRESH);
    }
    TestBed.configureTestingModule({
      providers: [
        provideZonelessChangeDetection(),
        provideRouter([
          { path: 'login', component: Blank },
          { path: 'libraries/:name', component: Blank },
        ]),
        provideHttpClient(withInterceptors([authInterceptor])),
        provideHttpClientTesting(),
      ],
    });
    http = TestBed.inject(HttpTestingController);
    client = TestBed.inject(HttpClient);
    router = TestBed.inject(Router);
    return TestBed.inject(AuthService);
  }

  const bearer = (req: TestRequest) => req.request.headers.get('Authorization');

  beforeEach(() => localStorage.clear());
  afterEach(() => {
    http.verify();
    localStorage.clear();
  });

  it('adds the access token to API calls', () => {
    setup();
    client.get('/libraries').subscribe();
    client.get('/search/My%20Drums', { params: { q: 'kick' } }).subscribe();
    expect(bearer(http.expectOne('/libraries'))).toBe(`Bearer ${ACCESS}`);
    expect(bearer(http.expectOne('/search/My%20Drums?q=kick'))).toBe(`Bearer ${ACCESS}`);
  });

  it('leaves sign-in, registration, refresh and other origins alone', () => {
    setup();
    client.post('/login', {}).subscribe();
    client.post('/register', {}).subscribe();
    client.post('/refresh', null, { headers: { Authorization: `Bearer ${REFRESH}` } }).subscribe();
    client.get('/health').subscribe();
    client.get('https://cdn.example.com/x.json').subscribe();
    expect(bearer(http.expectOne('/login'))).toBeNull();
    expect(bearer(http.expectOne('/register'))).toBeNull();
    expect(bearer(http.expectOne('/refresh'))).toBe(`Bearer ${REFRESH}`);
    expect(bearer(http.expectOne('/health'))).toBeNull();
    expect(bearer(http.expectOne('https://cdn.example.com/x.json'))).toBeNull();
  });

  it('sends no header when signed out', () => {
    setup(false);
    client.get('/libraries').subscribe();
    expect(http.expectOne('/libraries').request.headers.has('Authorization')).toBe(false);
  });

  it('on a 401 refreshes once and retries the request with the new token', () => {
    const auth = setup();
    const answers: unknown[] = [];
    client.get('/libraries').subscribe((body) => answers.push(body));

    http.expectOne('/libraries').flush({ message: 'token expired' }, unauthorized);
    const refresh = http.expectOne('/refresh');
    expect(refresh.request.method).toBe('POST');
    expect(bearer(refresh)).toBe(`Bearer ${REFRESH}`);
    refresh.flush({ token: 'access-2' });

    const retry = http.expectOne('/libraries');
    expect(bearer(retry)).toBe('Bearer access-2');
    retry.flush(['Drums']);
    expect(answers).toEqual([['Drums']]);
    expect(auth.token()).toBe('access-2');
    expect(localStorage.getItem(TOKEN_KEY)).toBe('access-2');
  });

  it('keeps the body and method of the retried request', () => {
    setup();
    client.put('/samplefavorite/update/Drums/Kits/kick.wav', { isFavorite: true }).subscribe();
    http.expectOne('/samplefavorite/update/Drums/Kits/kick.wav').flush(null, unauthorized);
    http.expectOne('/refresh').flush({ token: 'access-2' });
    const retry = http.expectOne('/samplefavorite/update/Drums/Kits/kick.wav');
    expect(retry.request.method).toBe('PUT');
    expect(retry.request.body).toEqual({ isFavorite: true });
    expect(bearer(retry)).toBe('Bearer access-2');
    retry.flush({ message: 'ok' });
  });

  it('two parallel 401s share one refresh; both are retried with the new token', () => {
    setup();
    const answers: unknown[] = [];
    client.get('/libraries').subscribe((b) => answers.push(b));
    client.get('/recommendations/Drums').subscribe((b) => answers.push(b));

    http.expectOne('/libraries').flush(null, unauthorized);
    http.expectOne('/recommendations/Drums').flush(null, unauthorized);
    http.expectOne('/refresh').flush({ token: 'access-2' });

    const retries = http.match((req) => req.url === '/libraries' || req.url === '/recommendations/Drums');
    expect(retries).toHaveLength(2);
    expect(retries.map(bearer)).toEqual(['Bearer access-2', 'Bearer access-2']);
    retries[0].flush(['Drums']);
    retries[1].flush([{ name: 'kick.wav' }]);
    expect(answers).toEqual([['Drums'], [{ name: 'kick.wav' }]]);
  });

  it('a 401 on the retry is passed on without a second refresh', () => {
    setup();
    let error: HttpErrorResponse | null = null;
    client.get('/libraries').subscribe({ error: (e: HttpErrorResponse) => (error = e) });
    http.expectOne('/libraries').flush(null, unauthorized);
    http.expectOne('/refresh').flush({ token: 'access-2' });
    http.expectOne('/libraries').flush({ message: 'still no' }, unauthorized);
    http.expectNone('/refresh');
    expect(error!.status).toBe(401);
  });

  it('when the refresh fails, forgets the tokens and sends the user to sign-in with the return URL', async () => {
    const auth = setup();
    await router.navigateByUrl('/libraries/My%20Drums');
    let error: HttpErrorResponse | null = null;
    client.get('/search/My%20Drums').subscribe({ error: (e: HttpErrorResponse) => (error = e) });

    http.expectOne('/search/My%20Drums').flush(null, unauthorized);
    http.expectOne('/refresh').flush({ message: 'refresh token expired' }, unauthorized);
    http.expectNone('/search/My%20Drums');

    expect(error!.status).toBe(401);
    expect(auth.signedIn()).toBe(false);
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull();
    expect(localStorage.getItem(REFRESH_KEY)).toBeNull();
    await new Promise((resolve) => setTimeout(resolve));
    const url = router.parseUrl(router.url);
    expect(url.root.children['primary'].segments.map((s) => s.path)).toEqual(['login']);
    expect(url.queryParams).toEqual({ returnUrl: '/libraries/My%20Drums', expired: '1' });
  });

  it('passes a 401 through when signed out', () => {
    setup(false);
    let error: HttpErrorResponse | null = null;
    client.get('/libraries').subscribe({ error: (e: HttpErrorResponse) => (error = e) });
    http.expectOne('/libraries').flush({ message: 'missing token' }, unauthorized);
    http.expectNone('/refresh');
    expect(error!.status).toBe(401);
    expect(error!.error).toEqual({ message: 'missing token' });
  });

  it('passes other errors through without refreshing', () => {
    setup();
    let error: HttpErrorResponse | null = null;
    client.get('/libraries').subscribe({ error: (e: HttpErrorResponse) => (error = e) });
    http.expectOne('/libraries').flush({ message: 'nope' }, { status: 403, statusText: 'Forbidden' });
    http.expectNone('/refresh');
    expect(error!.status).toBe(403);
  });

  it('does not refresh on a 401 from sign-in (wrong password)', () => {
    setup();
    let error: HttpErrorResponse | null = null;
    client.post('/login', { mail: 'a@b.c', password: 'x' }).subscribe({ error: (e: HttpErrorResponse) => (error = e) });
    http.expectOne('/login').flush({ message: 'wrong mail or password' }, unauthorized);
    http.expectNone('/refresh');
    expect(error!.status).toBe(401);
  });
});
