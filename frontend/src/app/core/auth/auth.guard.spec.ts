import { provideHttpClient } from '@angular/common/http';
import { provideHttpClientTesting } from '@angular/common/http/testing';
import { provideZonelessChangeDetection } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { ActivatedRouteSnapshot, Router, RouterStateSnapshot, UrlTree, provideRouter } from '@angular/router';

import { signedInGuard, signedOutGuard } from './auth.guard';
import { TOKEN_KEY } from './auth.service';

describe('auth guards', () => {
  const route = {} as ActivatedRouteSnapshot;
  const state = (url: string) => ({ url }) as RouterStateSnapshot;

  function setup(signedIn: boolean): Router {
    localStorage.clear();
    if (signedIn) localStorage.setItem(TOKEN_KEY, 'access-1');
    TestBed.configureTestingModule({
      providers: [provideZonelessChangeDetection(), provideRouter([]), provideHttpClient(), provideHttpClientTesting()],
    });
    return TestBed.inject(Router);
  }

  afterEach(() => localStorage.clear());

  it('signedInGuard sends signed-out users to sign-in with the return URL', () => {
    const router = setup(false);
    const result = TestBed.runInInjectionContext(() => signedInGuard(route, state('/libraries/My%20Drums?q=kick')));
    expect(result).toBeInstanceOf(UrlTree);
    const tree = result as UrlTree;
    expect(tree.root.children['primary'].segments.map((s) => s.path)).toEqual(['login']);
    expect(tree.queryParams).toEqual({ returnUrl: '/libraries/My%20Drums?q=kick' });
    expect(router.serializeUrl(tree)).toBe('/login?returnUrl=%2Flibraries%2FMy%2520Drums%3Fq%3Dkick');
  });

  it('signedInGuard lets signed-in users pass', () => {
    setup(true);
    expect(TestBed.runInInjectionContext(() => signedInGuard(route, state('/libraries')))).toBe(true);
  });

  it('signedOutGuard sends signed-in users to the libraries', () => {
    const router = setup(true);
    const result = TestBed.runInInjectionContext(() => signedOutGuard(route, state('/login')));
    expect(result).toBeInstanceOf(UrlTree);
    expect(router.serializeUrl(result as UrlTree)).toBe('/libraries');
  });

  it('signedOutGuard lets signed-out users pass', () => {
    setup(false);
    expect(TestBed.runInInjectionContext(() => signedOutGuard(route, state('/login')))).toBe(true);
  });
});
