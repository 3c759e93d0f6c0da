import { ChangeDetectionStrategy, Component, computed, input } from '@angular/core';
import { MatIconModule } from '@angular/material/icon';

import type { UploadFile, UploadStatus } from './upload.service';

const ICONS: Record<UploadStatus, string> = {
  queued: 'schedule',
  uploading: 'upload',
  stored: 'check_circle',
  replaced: 'published_with_changes',
  duplicate: 'content_copy',
  rejected: 'block',
  error: 'error',
};

const LABELS: Record<UploadStatus, string> = {
  queued: 'queued',
  uploading: 'uploading',
  stored: 'stored',
  replaced: 'replaced',
  duplicate: 'duplicate',
  rejected: 'rejected',
  error: 'failed',
};

/** The note under a file's path: the server's reason for a rejection or failure, the original of a duplicate. */
export function rowNote(file: UploadFile): string {
  switch (file.status) {
    case 'rejected':
    case 'error':
      return file.message;
    case 'duplicate':
      if (!file.duplicateOf) return file.message;
      return file.duplicateOf === file.path
        ? 'already in the library, unchanged'
        : `same sound as ${file.duplicateOf}`;
    default:
      return '';
  }
}

/** One file of the upload panel: status icon, path, the server's note, and its progress while it uploads. */
@Component({
  selector: 'app-upload-row',
  imports: [MatIconModule],
  host: {
    role: 'listitem',
    'data-testid': 'upload-row',
    '[attr.data-status]': 'file().status',
    '[class]': 'file().status',
  },
  template: `
    <mat-icon class="icon" aria-hidden="true">{{ icon() }}</mat-icon>
    <span class="main">
      <span class="path" [title]="file().path">{{ file().path }}</span>
      @if (note(); as note) {
        <span class="note" [title]="note">{{ note }}</span>
      }
    </span>
    @if (file().status === 'uploading') {
      <span
        class="bar"
        role="progressbar"
        aria-label="Upload progress"
        aria-valuemin="0"
        aria-valuemax="100"
        [attr.aria-valuenow]="percent()"
        ><span [style.width.%]="percent()"></span
      ></span>
    } @else {
      <span class="label">{{ label() }}</span>
    }
  `,
  styles: `
    :host {
      display: grid;
      grid-template-columns: 20px 1fr 72px;
      align-items: center;
      gap: 8px;
      height: 36px;
      padding: 0 12px;
      box-sizing: border-box;
      font-size: 13px;
    }
    .icon {
      font-size: 18px;
      width: 18px;
      height: 18px;
      color: var(--mat-sys-on-surface-variant);
    }
    .main {
      display: flex;
      flex-direction: column;
      min-width: 0;
      line-height: 16px;
    }
    .path,
    .note {
      overflow: hidden;
      text-overflow: ellipsis;
      white-space: nowrap;
    }
    .note {
      font-size: 11px;
      line-height: 14px;
      color: var(--mat-sys-on-surface-variant);
    }
    .label {
      font-size: 11px;
      text-align: right;
      color: var(--mat-sys-on-surface-variant);
    }
    .bar {
      height: 4px;
      border-radius: 2px;
      background: var(--mat-sys-surface-container-highest);
      overflow: hidden;
    }
    .bar span {
      display: block;
      height: 100%;
      background: var(--mat-sys-primary);
    }
    :host(.stored) .icon,
    :host(.replaced) .icon {
      color: var(--mat-sys-primary);
    }
    :host(.duplicate) .icon {
      color: var(--mat-sys-tertiary);
    }
    :host(.rejected) .icon,
    :host(.error) .icon,
    :host(.rejected) .note,
    :host(.error) .note,
    :host(.rejected) .label,
    :host(.error) .label {
      color: var(--mat-sys-error);
    }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class UploadRow {
  readonly file = input.required<UploadFile>();

  protected readonly icon = computed(() => ICONS[this.file().status]);
  protected readonly label = computed(() => LABELS[this.file().status]);
  protected readonly note = computed(() => rowNote(this.file()));
  protected readonly percent = computed(() => Math.round(this.file().progress * 100));
}
