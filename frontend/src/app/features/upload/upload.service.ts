import { HttpClient, HttpErrorResponse, HttpEvent, HttpEventType } from '@angular/common/http';
import { Injectable, Signal, computed, inject, signal } from '@angular/core';
import { Observable, Subject, Subscription } from 'rxjs';

import type { FileOutcome, UploadResult } from '../../core/api/types';
import { libUrl } from '../../core/api/types';
import { errorMessage } from '../../core/http-error';
import type { UploadItem } from './collect';

export type UploadStatus =
  'queued' | 'uploading' | 'stored' | 'replaced' | 'duplicate' | 'rejected' | 'error';

/** One file of the upload queue, as the panel shows it. */
export interface UploadFile {
  readonly id: number;
  readonly lib: string;
  readonly path: string;
  /** bytes */
  readonly size: number;
  readonly status: UploadStatus;
  /** the server's words for rejected / duplicate / error (and its outcome message otherwise); '' while queued */
  readonly message: string;
  /** 0..1 */
  readonly progress: number;
  /** duplicate only: the sample holding the same content (the path itself for an identical re-upload) */
  readonly duplicateOf?: string;
}

export interface UploadCounts {
  readonly total: number;
  readonly queued: number;
  readonly uploading: number;
  readonly stored: number;
  readonly replaced: number;
  readonly duplicate: number;
  readonly rejected: number;
  readonly error: number;
  /** files left out before the upload (not audio), as passed to `start` */
  readonly skipped: number;
}

/** The server's answer to one batch request. */
export interface BatchDone {
  readonly lib: string;
  readonly outcomes: FileOutcome[];
}

/** At most this many files per request (the server takes 100). */
export const BATCH_MAX_FILES = 20;
/** At most this many bytes per request (the server takes 200 MB); a larger file goes alone. */
export const BATCH_MAX_BYTES = 24 * 1024 * 1024;
/** Requests in flight at once. */
export const MAX_PARALLEL = 2;
/** The server's MAX_UPLOAD_MB until one of its answers names it: larger files are refused without sending. */
export const ASSUMED_MAX_FILE_MB = 100;

const MB = 1024 * 1024;
const FINAL: ReadonlySet<UploadStatus> = new Set<UploadStatus>([
  'stored',
  'replaced',
  'duplicate',
  'rejected',
  'error',
]);

type Change = Partial<Pick<UploadFile, 'status' | 'message' | 'progress' | 'duplicateOf'>>;

interface Batch {
  readonly lib: string;
  readonly ids: readonly number[];
  readonly sizes: readonly number[];
  readonly bytes: number;
  /** bytes (of the files) last shown as progress */
  shown: number;
  sub: Subscription | null;
}

/**
 * The upload resource: a queue of files sent to `POST /upload/<lib>` in batches (≤ 20 files, ≤ 24 MB; a larger
 * file alone), at most 2 requests at once, with per-file progress and the server's outcome per file. Files are
 * streamed by the browser from their `File` handles, never read into memory.
 */
@Injectable({ providedIn: 'root' })
export class UploadService {
  private readonly http = inject(HttpClient);

  private readonly list = signal<readonly UploadFile[]>([]);
  private readonly skippedCount = signal(0);
  /** The File of each file not finished yet (or failed, for a retry). */
  private readonly blobs = new Map<number, File>();
  /** id → position in `list` */
  private readonly index = new Map<number, number>();
  /** queued ids, in order; `head` is the next to send */
  private queue: number[] = [];
  private head = 0;
  /** batches split after a 413, sent before the queue */
  private retryBatches: number[][] = [];
  private readonly inFlight = new Set<Batch>();
  /** libraries with files queued or in flight, for `finished$` */
  private readonly busyLibs = new Set<string>();
  private nextId = 1;
  private maxFileBytes = ASSUMED_MAX_FILE_MB * MB;
  private batchMaxFiles = BATCH_MAX_FILES;
  private batchMaxBytes = BATCH_MAX_BYTES;

  private readonly batchDoneSubject = new Subject<BatchDone>();
  private readonly finishedSubject = new Subject<string>();

  /** Every file of the queue, in the order given to `start`. */
  readonly files: Signal<readonly UploadFile[]> = this.list.asReadonly();

  readonly counts: Signal<UploadCounts> = computed(() => {
    const counts = {
      total: 0,
      queued: 0,
      uploading: 0,
      stored: 0,
      replaced: 0,
      duplicate: 0,
      rejected: 0,
      error: 0,
    };
    for (const file of this.list()) {
      counts[file.status]++;
      counts.total++;
    }
    return { ...counts, skipped: this.skippedCount() };
  });

  /** Something queued or in flight. */
  readonly active: Signal<boolean> = computed(() => {
    const counts = this.counts();
    return counts.queued + counts.uploading > 0;
  });

  /** 0..1 by bytes over the whole queue (finished files, whatever their outcome, count as done). */
  readonly overall: Signal<number> = computed(() => {
    let total = 0;
    let done = 0;
    for (const file of this.list()) {
      const weight = Math.max(file.size, 1);
      total += weight;
      done += weight * (FINAL.has(file.status) ? 1 : file.progress);
    }
    return total ? done / total : 0;
  });

  /** After each batch the server answered: its library and the outcome of each of its files. */
  readonly batchDone$: Observable<BatchDone> = this.batchDoneSubject.asObservable();

  /** A library whose queue emptied (nothing queued or in flight for it any more). */
  readonly finished$: Observable<string> = this.finishedSubject.asObservable();

  /** Queue files for a library (joining an ongoing upload); `skipped`: files left out before, for the summary. */
  start(lib: string, items: readonly UploadItem[], skipped = 0): void {
    if (skipped > 0) this.skippedCount.update((count) => count + skipped);
    if (!items.length) return;
    const added: UploadFile[] = [];
    const offset = this.list().length;
    for (const item of items) {
      const id = this.nextId++;
      this.blobs.set(id, item.file);
      this.index.set(id, offset + added.length);
      this.queue.push(id);
      added.push({
        id,
        lib,
        path: item.path,
        size: item.file.size,
        status: 'queued',
        message: '',
        progress: 0,
      });
    }
    this.list.update((list) => [...list, ...added]);
    this.busyLibs.add(lib);
    this.pump();
  }

  /** Queue again every file that failed (server or network error, cancelled). */
  retryFailed(): void {
    const changes = new Map<number, Change>();
    for (const file of this.list()) {
      if (file.status !== 'error' || !this.blobs.has(file.id)) continue;
      changes.set(file.id, { status: 'queued', message: '', progress: 0 });
      this.queue.push(file.id);
      this.busyLibs.add(file.lib);
    }
    this.patch(changes);
    this.pump();
  }

  /** Stop: queued files and those in flight (their requests are aborted) end as 'error' “Cancelled”. */
  cancel(): void {
    const changes = new Map<number, Change>();
    const cancelled: Change = { status: 'error', message: 'Cancelled', progress: 0 };
    for (const batch of this.inFlight) {
      batch.sub?.unsubscribe();
      for (const id of batch.ids) changes.set(id, cancelled);
    }
    this.inFlight.clear();
    for (const id of this.takeQueued()) changes.set(id, cancelled);
    this.patch(changes);
    this.pump();
  }

  /** Forget finished files (those queued or uploading stay) and the skipped count. */
  clear(): void {
    const kept = this.list().filter((file) => !FINAL.has(file.status));
    const keptIds = new Set(kept.map((file) => file.id));
    for (const id of [...this.blobs.keys()]) {
      if (!keptIds.has(id)) this.blobs.delete(id);
    }
    this.index.clear();
    kept.forEach((file, i) => this.index.set(file.id, i));
    this.list.set(kept);
    this.skippedCount.set(0);
  }

  /** Start batches while slots are free, then announce the libraries whose queue emptied. */
  private pump(): void {
    while (this.inFlight.size < MAX_PARALLEL) {
      const ids = this.nextBatch();
      if (!ids) break;
      this.send(ids);
    }
    this.settle();
  }

  private file(id: number): UploadFile | undefined {
    const i = this.index.get(id);
    return i === undefined ? undefined : this.list()[i];
  }

  /** The next batch: a split one first, else consecutive queued files of one library within the limits. */
  private nextBatch(): number[] | null {
    const split = this.retryBatches.shift();
    if (split) return split;
    const ids: number[] = [];
    const tooLarge = new Map<number, Change>();
    let bytes = 0;
    let lib = '';
    while (this.head < this.queue.length) {
      const id = this.queue[this.head];
      const file = this.file(id);
      if (!file || file.status !== 'queued') {
        this.head++;
        continue;
      }
      if (file.size > this.maxFileBytes) {
        const limit = this.maxFileBytes / MB;
        tooLarge.set(id, {
          status: 'rejected',
          progress: 1,
          message: `file too large: uploads are limited to ${limit} MB per file`,
        });
        this.blobs.delete(id);
        this.head++;
        continue;
      }
      if (
        ids.length > 0 &&
        (file.lib !== lib ||
          ids.length >= this.batchMaxFiles ||
          bytes + file.size > this.batchMaxBytes)
      )
        break;
      ids.push(id);
      bytes += file.size;
      lib = file.lib;
      this.head++;
      if (bytes > this.batchMaxBytes) break; // a large file goes alone
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.patch(tooLarge);
    return ids.length ? ids : null;
  }

  private send(ids: readonly number[]): void {
    const files = ids.map((id) => this.file(id)).filter((file): file is UploadFile => !!file);
    const form = new FormData();
    for (const file of files) {
      const blob = this.blobs.get(file.id);
      if (blob) form.append('file', blob, blob.name);
      form.append('path', file.path);
    }
    const sizes = files.map((file) => file.size);
    const batch: Batch = {
      lib: files[0].lib,
      ids: files.map((file) => file.id),
      sizes,
      bytes: sizes.reduce((sum, size) => sum + size, 0),
      shown: 0,
      sub: null,
    };
    this.patch(
      new Map(batch.ids.map((id) => [id, { status: 'uploading', progress: 0, message: '' }])),
    );
    this.inFlight.add(batch);
    const sub = this.http
      .post<UploadResult>(libUrl('upload', batch.lib), form, {
        reportProgress: true,
        observe: 'events',
      })
      .subscribe({
        next: (event: HttpEvent<UploadResult>) => {
          if (event.type === HttpEventType.UploadProgress)
            this.progress(batch, event.loaded, event.total);
          else if (event.type === HttpEventType.Response) this.answered(batch, event.body);
        },
        error: (error: unknown) => this.failed(batch, error),
      });
    if (this.inFlight.has(batch)) batch.sub = sub;
  }

  /**
   * Spreads the bytes sent over the batch's files in order: file i is at (sent − offset_i) / size_i, clamped
   * to 0..1. `loaded`/`total` count the multipart body, so they are scaled to the files' bytes. Updates at
   * most every 1 % of the batch.
   */
  private progress(batch: Batch, loaded: number, total: number | undefined): void {
    if (!this.inFlight.has(batch)) return;
    const whole = total && total > 0 ? total : batch.bytes;
    const sent = batch.bytes * Math.min(1, Math.max(0, loaded / whole));
    if (sent < batch.bytes && sent - batch.shown < batch.bytes / 100) return;
    batch.shown = sent;
    const changes = new Map<number, Change>();
    let offset = 0;
    batch.ids.forEach((id, i) => {
      const size = batch.sizes[i];
      const progress =
        size > 0 ? Math.min(1, Math.max(0, (sent - offset) / size)) : sent >= offset ? 1 : 0;
      offset += size;
      if (this.file(id)?.progress !== progress) changes.set(id, { progress });
    });
    this.patch(changes);
  }

  private answered(batch: Batch, body: UploadResult | null): void {
    if (!this.inFlight.delete(batch)) return;
    const outcomes: FileOutcome[] =
      body?.files ??
      (body && batch.ids.length === 1
        ? [{ path: this.file(batch.ids[0])?.path ?? '', status: 'stored', message: body.message }]
        : []);
    const changes = new Map<number, Change>();
    batch.ids.forEach((id, i) => {
      const outcome = outcomes[i];
      if (!outcome) {
        changes.set(id, {
          status: 'error',
          progress: 0,
          message: 'The server gave no answer for this file.',
        });
        return;
      }
      if (outcome.status === 'rejected') this.learnLimits(outcome.message);
      changes.set(id, {
        status: outcome.status,
        message: outcome.message,
        progress: 1,
        duplicateOf: outcome.duplicateOf,
      });
      this.blobs.delete(id);
    });
    this.patch(changes);
    this.batchDoneSubject.next({ lib: batch.lib, outcomes });
    this.pump();
  }

  private failed(batch: Batch, error: unknown): void {
    if (!this.inFlight.delete(batch)) return;
    const changes = new Map<number, Change>();
    if (error instanceof HttpErrorResponse && error.status === 413) {
      const message = errorMessage(error);
      this.learnLimits(message);
      if (batch.ids.length > 1) {
        const half = Math.ceil(batch.ids.length / 2);
        this.retryBatches.unshift(batch.ids.slice(0, half), batch.ids.slice(half));
        for (const id of batch.ids) changes.set(id, { status: 'queued', progress: 0 });
      } else {
        changes.set(batch.ids[0], { status: 'rejected', progress: 1, message });
        this.blobs.delete(batch.ids[0]);
      }
      this.patch(changes);
      this.pump();
      return;
    }
    // Disk full, server or network down, or another refusal: this batch failed; send nothing more until a retry.
    const message = errorMessage(error);
    for (const id of batch.ids) changes.set(id, { status: 'error', progress: 0, message });
    for (const id of this.takeQueued())
      changes.set(id, { status: 'error', progress: 0, message: `Not sent: ${message}` });
    this.patch(changes);
    this.pump();
  }

  /** Empties the queue (and split batches), returning the ids that were still queued. */
  private takeQueued(): number[] {
    const ids = [...this.retryBatches.flat(), ...this.queue.slice(this.head)].filter(
      (id) => this.file(id)?.status === 'queued',
    );
    this.retryBatches = [];
    this.queue = [];
    this.head = 0;
    return ids;
  }

  /** The server names its limits in 413s and rejections: “… limited to 50 MB per file and 200 MB per request (at most 100 files)”. */
  private learnLimits(message: string): void {
    const perFile = /limited to ([\d.]+) MB per file/.exec(message);
    if (perFile) this.maxFileBytes = Number(perFile[1]) * MB;
    const perRequest = /([\d.]+) MB per request/.exec(message);
    if (perRequest) this.batchMaxBytes = Math.min(BATCH_MAX_BYTES, Number(perRequest[1]) * MB);
    const files = /at most (\d+) (?:files|per request)/.exec(message);
    if (files) this.batchMaxFiles = Math.max(1, Math.min(BATCH_MAX_FILES, Number(files[1])));
  }

  private patch(changes: ReadonlyMap<number, Change>): void {
    if (!changes.size) return;
    this.list.update((list) => {
      const next = list.slice();
      for (const [id, change] of changes) {
        const i = this.index.get(id);
        if (i !== undefined) next[i] = { ...next[i], ...change };
      }
      return next;
    });
  }

  private settle(): void {
    if (!this.busyLibs.size) return;
    const working = new Set<string>();
    for (const file of this.list()) {
      if (file.status === 'queued' || file.status === 'uploading') working.add(file.lib);
    }
    for (const lib of [...this.busyLibs]) {
      if (working.has(lib)) continue;
      this.busyLibs.delete(lib);
      this.finishedSubject.next(lib);
    }
  }
}
