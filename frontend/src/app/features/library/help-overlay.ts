import { ChangeDetectionStrategy, Component } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatDialogModule } from '@angular/material/dialog';

export const SHORTCUTS: readonly { keys: string[]; what: string }[] = [
  { keys: ['↑', '↓'], what: 'Select the previous / next sound and play it' },
  { keys: ['Shift', '↑ ↓'], what: 'Extend the selection' },
  { keys: ['Ctrl', 'click'], what: 'Add a sound to the selection without playing it' },
  { keys: ['Space'], what: 'Play / stop the selected sound' },
  { keys: ['Enter'], what: 'Play the selected sound from the start' },
  { keys: ['Esc'], what: 'Stop; again to clear the selection' },
  { keys: ['PgUp', 'PgDn', 'Home', 'End'], what: 'Move by a page, to the first or last sound' },
  { keys: ['F'], what: 'Favourite (all selected sounds)' },
  { keys: ['S'], what: 'More like this: go to the similar sounds' },
  { keys: ['T'], what: 'Tag the selected sounds' },
  { keys: ['C'], what: 'Correct the class' },
  { keys: ['D'], what: 'Download the sound' },
  { keys: ['Delete'], what: 'Delete the selected sounds (asks first)' },
  { keys: ['Ctrl', 'A'], what: 'Select every sound in the table' },
  { keys: ['/'], what: 'Search' },
  { keys: ['?'], what: 'This help' },
];

/** Every keyboard shortcut of the library view. */
@Component({
  selector: 'app-help-overlay',
  imports: [MatButtonModule, MatDialogModule],
  template: `
    <h2 mat-dialog-title>Keyboard shortcuts</h2>
    <mat-dialog-content data-testid="help-overlay">
      <p class="lead">Click the table (or press <kbd>Tab</kbd> to it), then keep your hands on the keys.
        Search: <code>kick -808</code> finds kicks without 808 in the path or tags; <code>"dusty snare"</code> is a phrase.</p>
      <table>
        <caption class="sr-only">Keys and what they do</caption>
        <tbody>
          @for (s of shortcuts; track s.what) {
            <tr><th scope="row">@for (k of s.keys; track k) { <kbd>{{ k }}</kbd> }</th><td>{{ s.what }}</td></tr>
          }
        </tbody>
      </table>
    </mat-dialog-content>
    <mat-dialog-actions align="end"><button mat-flat-button type="button" mat-dialog-close cdkFocusInitial>Got it</button></mat-dialog-actions>
  `,
  styles: `
    table { border-collapse: collapse; width: 100%; }
    th { text-align: left; font-weight: 400; white-space: nowrap; padding: 4px 16px 4px 0; }
    td { padding: 4px 0; }
    kbd { margin-right: 4px; }
    .lead { margin-top: 0; }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class HelpOverlay {
  protected readonly shortcuts = SHORTCUTS;
}
