import { ScrollingModule } from '@angular/cdk/scrolling';
import { ChangeDetectionStrategy, Component, computed, inject, output } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatIconModule } from '@angular/material/icon';
import { MatProgressBarModule } from '@angular/material/progress-bar';

import { UploadRow } from './upload-row';
import type { UploadCounts, UploadFile } from './upload.service';
import { UploadService } from './upload.service';

/** Above this many files the list is virtual (only the visible rows exist in the DOM). */
export const VIRTUAL_FROM = 50;
/** Row height of the list, px (CDK fixed-size virtual scroll). */
export const ROW_HEIGHT = 36;
const VISIBLE_ROWS = 10;

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** “12 stored, 1 replaced, 2 duplicates, 1 rejected, 3 failed”: the non-zero outcomes. */
export function outcomeSummary(counts: UploadCounts): string {
  const parts: string[] = [];
  if (counts.stored) parts.push(`${counts.stored} stored`);
  if (counts.replaced) parts.push(`${counts.replaced} replaced`);
  if (counts.duplicate) parts.push(plural(counts.duplicate, 'duplicate'));
  if (counts.rejected) parts.push(`${counts.rejected} rejected`);
  if (counts.error) parts.push(`${counts.error} failed`);
  return parts.join(', ');
}

/** Progress and outcome of the uploads: a summary (live region), the overall bar, and one row per file. */
@Component({
  selector: 'app-upload-panel',
  imports: [MatButtonModule, MatIconModule, MatProgressBarModule, ScrollingModule, UploadRow],
  template: `
    <section class="panel" data-testid="upload-panel" aria-labelledby="upload-panel-title">
      <div class="head">
        <div class="summary" aria-live="polite" aria-atomic="true">
          <h2 class="title" id="upload-panel-title">{{ title() }}</h2>
          @if (detail(); as detail) {
            <p class="detail">{{ detail }}</p>
          }
        </div>
        @if (counts().error) {
          <button mat-button type="button" (click)="retry()">
            <mat-icon>refresh</mat-icon>Retry failed
          </button>
        }
        @if (active()) {
          <button mat-button type="button" (click)="cancel()">Cancel</button>
        } @else {
          <button mat-flat-button type="button" (click)="close()">Close</button>
        }
      </div>
      <mat-progress-bar
        data-testid="upload-overall"
        mode="determinate"
        [value]="percent()"
        aria-label="Overall upload progress"
      />
      @if (rows().length > virtualFrom) {
        <cdk-virtual-scroll-viewport
          class="list"
          role="list"
          tabindex="0"
          aria-label="Files"
          [itemSize]="rowHeight"
          [style.height.px]="rowHeight * visibleRows"
        >
          <app-upload-row *cdkVirtualFor="let file of rows(); trackBy: trackById" [file]="file" />
        </cdk-virtual-scroll-viewport>
      } @else if (rows().length) {
        <div class="list short" role="list" aria-label="Files" tabindex="0">
          @for (file of rows(); track file.id) {
            <app-upload-row [file]="file" />
          }
        </div>
      }
    </section>
  `,
  styles: `
    .panel {
      display: flex;
      flex-direction: column;
      background: var(--mat-sys-surface-container);
      border: 1px solid var(--mat-sys-outline-variant);
      border-radius: 12px;
      overflow: hidden;
    }
    .head {
      display: flex;
      align-items: center;
      gap: 8px;
      padding: 8px 8px 8px 16px;
    }
    .summary {
      flex: 1;
      min-width: 0;
    }
    .title {
      font: var(--mat-sys-title-small);
      margin: 0;
    }
    .detail {
      margin: 2px 0 0;
      font-size: 12px;
      color: var(--mat-sys-on-surface-variant);
    }
    .list {
      border-top: 1px solid var(--mat-sys-outline-variant);
    }
    .short {
      max-height: 360px;
      overflow-y: auto;
    }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class UploadPanel {
  private readonly upload = inject(UploadService);

  /** The user closed the panel (after the upload); the finished entries are forgotten. */
  readonly closed = output<void>();

  protected readonly virtualFrom = VIRTUAL_FROM;
  protected readonly rowHeight = ROW_HEIGHT;
  protected readonly visibleRows = VISIBLE_ROWS;

  protected readonly counts = this.upload.counts;
  protected readonly active = this.upload.active;
  protected readonly percent = computed(() => Math.round(this.upload.overall() * 1000) / 10);

  /** In upload order while it runs; once finished, rejected and failed files first so problems are visible. */
  protected readonly rows = computed<readonly UploadFile[]>(() => {
    const files = this.upload.files();
    if (this.active()) return files;
    const problem = (file: UploadFile) => file.status === 'rejected' || file.status === 'error';
    return [...files.filter(problem), ...files.filter((file) => !problem(file))];
  });

  /** Changes once per batch (counts of finished files), never per byte: it is read out by screen readers. */
  protected readonly title = computed(() => {
    const counts = this.counts();
    if (this.active()) return `Importing ${plural(counts.total, 'file')}`;
    const summary = outcomeSummary(counts);
    return summary ? `Import finished: ${summary}` : 'Import finished';
  });

  protected readonly detail = computed(() => {
    const counts = this.counts();
    const parts: string[] = [];
    if (this.active()) {
      const done = counts.total - counts.queued - counts.uploading;
      parts.push(`${done} of ${counts.total} done`);
      const summary = outcomeSummary(counts);
      if (summary) parts.push(summary);
    }
    if (counts.skipped) parts.push(`${plural(counts.skipped, 'file')} skipped (not audio)`);
    return parts.join(' · ');
  });

  protected trackById(_index: number, file: UploadFile): number {
    return file.id;
  }

  protected retry(): void {
    this.upload.retryFailed();
  }

  protected cancel(): void {
    this.upload.cancel();
  }

  protected close(): void {
    this.upload.clear();
    this.closed.emit();
  }
}
