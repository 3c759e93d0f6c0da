import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { MatButtonModule } from '@angular/material/button';
import { MAT_DIALOG_DATA, MatDialogModule, MatDialogRef } from '@angular/material/dialog';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';

export interface NameData {
  title: string;
  label: string;
  action: string;
  value?: string;
}

/** Asks for one name (a library's); closes with the trimmed name. */
@Component({
  selector: 'app-name-dialog',
  imports: [FormsModule, MatButtonModule, MatDialogModule, MatFormFieldModule, MatInputModule],
  template: `
    <form (ngSubmit)="submit()">
      <h2 mat-dialog-title>{{ data.title }}</h2>
      <mat-dialog-content>
        <mat-form-field appearance="outline" class="field">
          <mat-label>{{ data.label }}</mat-label>
          <input matInput name="name" [ngModel]="name()" (ngModelChange)="name.set($event)" required maxlength="100"
                 cdkFocusInitial autocomplete="off" />
          @if (invalid()) { <mat-hint class="ds-error">{{ invalid() }}</mat-hint> }
        </mat-form-field>
      </mat-dialog-content>
      <mat-dialog-actions align="end">
        <button mat-button type="button" mat-dialog-close>Cancel</button>
        <button mat-flat-button type="submit" [disabled]="!!invalid() || !name().trim()">{{ data.action }}</button>
      </mat-dialog-actions>
    </form>
  `,
  styles: `.field { width: 360px; max-width: 100%; margin-top: 8px; }`,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class NameDialog {
  protected readonly data = inject<NameData>(MAT_DIALOG_DATA);
  private readonly ref = inject(MatDialogRef<NameDialog, string>);
  protected readonly name = signal(this.data.value ?? '');

  protected invalid(): string {
    const name = this.name();
    if (/[/\\]/.test(name)) return 'A name cannot contain / or \\';
    if (name.length > 100) return 'At most 100 characters';
    return '';
  }

  protected submit(): void {
    const name = this.name().trim();
    if (name && !this.invalid()) this.ref.close(name);
  }
}
