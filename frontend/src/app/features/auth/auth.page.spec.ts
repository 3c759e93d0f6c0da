import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { Component, provideZonelessChangeDetection } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { Router, provideRouter } from '@angular/router';
import { RouterTestingHarness } from '@angular/router/testing';

import { authInterceptor } from '../../core/auth/auth.interceptor';
import { AuthService, REFRESH_KEY, TOKEN_KEY } from '../../core/auth/auth.service';
import { AuthPage } from './auth.page';

@Component({ template: 'target' })
class Target {}

describe('AuthPage', () => {
  let harness: RouterTestingHarness;
  let http: HttpTestingController;
  let router: Router;

  async function open(url: string): Promise<HTMLElement> {
    harness = await RouterTestingHarness.create(url);
    return harness.routeNativeElement!;
  }

  async function fill(el: HTMLElement, mail: string, password: string): Promise<void> {
    const [mailInput, passwordInput] = Array.from(el.querySelectorAll('input'));
    mailInput.value = mail;
    mailInput.dispatchEvent(new Event('input'));
    passwordInput.value = password;
    passwordInput.dispatchEvent(new Event('input'));
    await harness.fixture.whenStable();
  }

  async function submit(el: HTMLElement): Promise<void> {
    el.querySelector('form')!.dispatchEvent(new Event('submit', { cancelable: true }));
    await harness.fixture.whenStable();
  }

  const submitButton = (el: HTMLElement) => el.querySelector<HTMLButtonElement>('button[type=submit]')!;

  beforeEach(() => {
    localStorage.clear();
    TestBed.configureTestingModule({
      providers: [
        provideZonelessChangeDetection(),
        provideRouter([
          { path: 'login', component: AuthPage, data: { mode: 'login' } },
          { path: 'register', component: AuthPage, data: { mode: 'register' } },
          { path: 'libraries', component: Target },
          { path: 'libraries/:name', component: Target },
        ]),
        provideHttpClient(withInterceptors([authInterceptor])),
        provideHttpClientTesting(),
      ],
    });
    http = TestBed.inject(HttpTestingController);
    router = TestBed.inject(Router);
  });

  afterEach(() => {
    http.verify();
    localStorage.clear();
  });

  it('signs in and goes to the libraries', async () => {
    const el = await open('/login');
    expect(el.querySelector('h1')?.textContent).toContain('Sign in');
    expect(submitButton(el).disabled).toBe(true);
    await fill(el, '  ann@example.com ', 'secret pass');
    expect(submitButton(el).disabled).toBe(false);
    await submit(el);

    const req = http.expectOne('/login');
    expect(req.request.body).toEqual({ mail: 'ann@example.com', password: 'secret pass' });
    expect(submitButton(el).disabled).toBe(true);
    req.flush({ token: 'access-1', refreshToken: 'refresh-1' });
    await harness.fixture.whenStable();

    expect(router.url).toBe('/libraries');
    expect(localStorage.getItem(TOKEN_KEY)).toBe('access-1');
    expect(localStorage.getItem(REFRESH_KEY)).toBe('refresh-1');
    expect(TestBed.inject(AuthService).signedIn()).toBe(true);
  });

  it('returns to the page the session ended on', async () => {
    const el = await open('/login?returnUrl=%2Flibraries%2FMy%2520Drums&expired=1');
    expect(el.querySelector('[role=status]')?.textContent).toContain('Your session ended');
    await fill(el, 'ann@example.com', 'secret pass');
    await submit(el);
    http.expectOne('/login').flush({ token: 'access-1', refreshToken: 'refresh-1' });
    await harness.fixture.whenStable();
    expect(router.url).toBe('/libraries/My%20Drums');
  });

  it('ignores a return URL to another site', async () => {
    const el = await open('/login?returnUrl=%2F%2Fevil.example.com%2Fx');
    await fill(el, 'ann@example.com', 'secret pass');
    await submit(el);
    http.expectOne('/login').flush({ token: 'access-1', refreshToken: 'refresh-1' });
    await harness.fixture.whenStable();
    expect(router.url).toBe('/libraries');
  });

  it("shows the server's message when sign-in fails, and allows another try", async () => {
    const el = await open('/login');
    await fill(el, 'ann@example.com', 'wrong');
    await submit(el);
    http.expectOne('/login').flush({ message: 'wrong mail or password' }, { status: 401, statusText: 'Unauthorized' });
    await harness.fixture.whenStable();
    expect(el.querySelector('[role=alert]')?.textContent).toContain('wrong mail or password');
    expect(submitButton(el).disabled).toBe(false);
    expect(router.url).toBe('/login');
    http.expectNone('/refresh');
  });

  it('registers in register mode', async () => {
    const el = await open('/register');
    expect(el.querySelector('h1')?.textContent).toContain('Create your account');
    await fill(el, 'bob@example.org', 'four random words here');
    await submit(el);
    const req = http.expectOne('/register');
    expect(req.request.method).toBe('POST');
    expect(req.request.body).toEqual({ mail: 'bob@example.org', password: 'four random words here' });
    req.flush({ token: 'access-2', refreshToken: 'refresh-2' });
    await harness.fixture.whenStable();
    expect(router.url).toBe('/libraries');
  });
});
