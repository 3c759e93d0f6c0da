import { Injectable, inject } from '@angular/core';
import { MatSnackBar } from '@angular/material/snack-bar';

import { errorMessage } from './http-error';

/** Tells the user what happened: errors in plain words (never a silent failure), and short confirmations. */
@Injectable({ providedIn: 'root' })
export class NotifyService {
  private readonly snackBar = inject(MatSnackBar);

  error(error: unknown, context?: string): void {
    const text = errorMessage(error);
    this.snackBar.open(context ? `${context}: ${text}` : text, 'Dismiss', {
      duration: 8000,
      panelClass: 'ds-snack-error',
      politeness: 'assertive',
    });
  }

  info(text: string): void {
    this.snackBar.open(text, undefined, { duration: 2500 });
  }
}
