import { Routes } from '@angular/router';

import { signedInGuard, signedOutGuard } from './core/auth/auth.guard';

export const routes: Routes = [
  { path: '', pathMatch: 'full', redirectTo: 'libraries' },
  {
    path: 'login',
    canActivate: [signedOutGuard],
    title: 'Sign in · DrumSampler',
    loadComponent: () => import('./features/auth/auth.page').then((m) => m.AuthPage),
    data: { mode: 'login' },
  },
  {
    path: 'register',
    canActivate: [signedOutGuard],
    title: 'Create an account · DrumSampler',
    loadComponent: () => import('./features/auth/auth.page').then((m) => m.AuthPage),
    data: { mode: 'register' },
  },
  {
    path: 'libraries',
    canActivate: [signedInGuard],
    title: 'Libraries · DrumSampler',
    loadComponent: () => import('./features/libraries/libraries.page').then((m) => m.LibrariesPage),
  },
  {
    path: 'libraries/:name',
    canActivate: [signedInGuard],
    title: 'Library · DrumSampler',
    loadComponent: () => import('./features/library/library.page').then((m) => m.LibraryPage),
  },
  { path: '**', redirectTo: 'libraries' },
];
