import { HttpEventType, provideHttpClient } from '@angular/common/http';
import {
  HttpTestingController,
  TestRequest,
  provideHttpClientTesting,
} from '@angular/common/http/testing';
import { provideZonelessChangeDetection } from '@angular/core';
import { TestBed } from '@angular/core/testing';

import type { FileOutcome } from '../../core/api/types';
import type { UploadItem } from './collect';
import { BatchDone, UploadService } from './upload.service';

const MB = 1024 * 1024;

function item(path: string, size = 10): UploadItem {
  const file = new File([new Uint8Array(Math.min(size, 16))], path.split('/').pop() ?? path);
  Object.defineProperty(file, 'size', { value: size });
  return { file, path };
}

function items(count: number, size = 10, prefix = 's'): UploadItem[] {
  return Array.from({ length: count }, (_, i) =>
    item(`${prefix}${String(i).padStart(3, '0')}.wav`, size),
  );
}

function stored(req: TestRequest): FileOutcome[] {
  return formPaths(req).map((path) => ({ path, status: 'stored', message: `'${path}' uploaded` }));
}

function formPaths(req: TestRequest): string[] {
  return (req.request.body as FormData).getAll('path').map(String);
}

function formFiles(req: TestRequest): File[] {
  return (req.request.body as FormData).getAll('file') as File[];
}

describe('UploadService', () => {
  let service: UploadService;
  let http: HttpTestingController;
  let done: BatchDone[];
  let finished: string[];

  const open = () => http.match((req) => req.url.startsWith('/upload/'));
  const flushStored = (req: TestRequest) => req.flush({ message: 'ok', files: stored(req) });

  beforeEach(() => {
    TestBed.configureTestingModule({
      providers: [
        provideZonelessChangeDetection(),
        provideHttpClient(),
        provideHttpClientTesting(),
      ],
    });
    service = TestBed.inject(UploadService);
    http = TestBed.inject(HttpTestingController);
    done = [];
    finished = [];
    service.batchDone$.subscribe((batch) => done.push(batch));
    service.finished$.subscribe((lib) => finished.push(lib));
  });

  afterEach(() => http.verify());

  it('sends batches of at most 20 files, two requests at a time, with one path field per file in order', () => {
    service.start('My Drums', items(45));
    expect(service.active()).toBe(true);
    const first = open();
    expect(first.length).toBe(2);
    expect(first[0].request.method).toBe('POST');
    expect(first[0].request.url).toBe('/upload/My%20Drums');
    expect(formPaths(first[0])).toEqual(items(20).map((i) => i.path));
    expect(formFiles(first[0]).map((f) => f.name)).toEqual(items(20).map((i) => i.path));
    expect(formPaths(first[1])[0]).toBe('s020.wav');
    expect(service.counts().uploading).toBe(40);
    expect(service.counts().queued).toBe(5);

    flushStored(first[0]);
    const third = open(); // match() hands out each request once: only the new one
    expect(third.length).toBe(1);
    expect(formPaths(third[0])).toEqual([
      's040.wav',
      's041.wav',
      's042.wav',
      's043.wav',
      's044.wav',
    ]);
    expect(service.counts().uploading).toBe(25); // the second and the third in flight
    flushStored(first[1]);
    flushStored(third[0]);
    expect(service.counts().stored).toBe(45);
    expect(service.active()).toBe(false);
    expect(service.overall()).toBe(1);
    expect(done.length).toBe(3);
    expect(finished).toEqual(['My Drums']);
  });

  it('keeps batches within 24 MB and sends a larger file alone', () => {
    service.start('L', [
      item('a.wav', 10 * MB),
      item('b.wav', 10 * MB),
      item('c.wav', 10 * MB),
      item('big.wav', 30 * MB),
      item('d.wav', MB),
    ]);
    let reqs = open();
    expect(reqs.map(formPaths)).toEqual([['a.wav', 'b.wav'], ['c.wav']]);
    reqs.forEach(flushStored);
    reqs = open();
    expect(reqs.map(formPaths)).toEqual([['big.wav'], ['d.wav']]);
    reqs.forEach(flushStored);
    expect(service.counts().stored).toBe(5);
  });

  it('refuses files above the assumed 100 MB per-file limit without sending them', () => {
    service.start('L', [item('huge.wav', 101 * MB), item('ok.wav')]);
    const reqs = open();
    expect(reqs.map(formPaths)).toEqual([['ok.wav']]);
    expect(service.files()[0]).toMatchObject({ status: 'rejected', progress: 1 });
    expect(service.files()[0].message).toContain('100 MB per file');
    flushStored(reqs[0]);
  });

  it('maps each file’s outcome to its status and announces the batch and the finished library', () => {
    service.start('Drums', [item('k.wav'), item('s.wav'), item('c.wav'), item('x.wav')], 3);
    const outcomes: FileOutcome[] = [
      { path: 'k.wav', status: 'stored', message: 'stored' },
      { path: 's.wav', status: 'replaced', message: 'replaced by new content' },
      { path: 'c.wav', status: 'duplicate', message: 'same sound', duplicateOf: 'Kits/c.wav' },
      { path: 'x.wav', status: 'rejected', message: "'x.wav' is not audio" },
    ];
    open()[0].flush({ message: '1 stored, 1 replaced, 1 duplicate, 1 rejected', files: outcomes });
    expect(service.files().map((f) => f.status)).toEqual([
      'stored',
      'replaced',
      'duplicate',
      'rejected',
    ]);
    expect(service.files()[2].duplicateOf).toBe('Kits/c.wav');
    expect(service.files()[3].message).toBe("'x.wav' is not audio");
    expect(service.counts()).toEqual({
      total: 4,
      queued: 0,
      uploading: 0,
      stored: 1,
      replaced: 1,
      duplicate: 1,
      rejected: 1,
      error: 0,
      skipped: 3,
    });
    expect(done).toEqual([{ lib: 'Drums', outcomes }]);
    expect(finished).toEqual(['Drums']);
  });

  it('splits a batch answered 413 in halves, down to one file, which is then rejected', () => {
    service.start('L', items(4));
    const tooLarge = {
      message:
        'request too large: uploads are limited to 50 MB per file and 200 MB per request (at most 100 files)',
    };
    open()[0].flush(tooLarge, { status: 413, statusText: 'Payload Too Large' });
    let reqs = open();
    expect(reqs.map(formPaths)).toEqual([
      ['s000.wav', 's001.wav'],
      ['s002.wav', 's003.wav'],
    ]);
    flushStored(reqs[1]);
    reqs[0].flush(tooLarge, { status: 413, statusText: 'Payload Too Large' });
    reqs = open();
    expect(reqs.map(formPaths)).toEqual([['s000.wav'], ['s001.wav']]);
    reqs[0].flush(tooLarge, { status: 413, statusText: 'Payload Too Large' });
    flushStored(reqs[1]);
    expect(service.files().map((f) => f.status)).toEqual([
      'rejected',
      'stored',
      'stored',
      'stored',
    ]);
    expect(service.files()[0].message).toBe(tooLarge.message);
    expect(finished).toEqual(['L']);

    // The limit named in the 413 (50 MB per file) now refuses larger files before sending.
    service.start('L', [item('sixty.wav', 60 * MB)]);
    expect(open().length).toBe(0);
    expect(service.files()[4].status).toBe('rejected');
  });

  it('on 507 marks the batch failed with the server’s message, sends nothing more, and retries on request', () => {
    service.start('L', items(50));
    const [first, second] = open();
    first.flush(
      { message: 'the disk is full' },
      { status: 507, statusText: 'Insufficient Storage' },
    );
    expect(open().length).toBe(0); // no new batch started; the second is still in flight
    expect(service.counts().uploading).toBe(20);
    const failed = service.files().filter((f) => f.status === 'error');
    expect(failed.length).toBe(30); // 20 of the batch + 10 never sent
    expect(failed[0].message).toBe('the disk is full');
    expect(failed[29].message).toBe('Not sent: the disk is full');
    expect(finished).toEqual([]);
    flushStored(second);
    expect(service.active()).toBe(false);
    expect(service.counts()).toMatchObject({ stored: 20, error: 30 });
    expect(finished).toEqual(['L']);

    service.retryFailed();
    expect(service.counts()).toMatchObject({ error: 0, uploading: 30 });
    const reqs = open();
    expect(reqs.map((r) => formPaths(r).length)).toEqual([20, 10]);
    expect(formPaths(reqs[0])[0]).toBe('s000.wav');
    reqs.forEach(flushStored);
    expect(service.counts()).toMatchObject({ stored: 50, error: 0 });
    expect(finished).toEqual(['L', 'L']);
  });

  it('marks a batch failed on a network error or a 500', () => {
    service.start('L', items(1));
    open()[0].error(new ProgressEvent('error'), { status: 0, statusText: 'Unknown Error' });
    expect(service.files()[0]).toMatchObject({ status: 'error' });
    expect(service.files()[0].message).toContain('cannot be reached');
    service.retryFailed();
    open()[0].flush({ message: 'internal error' }, { status: 500, statusText: 'Server Error' });
    expect(service.files()[0]).toMatchObject({ status: 'error', message: 'internal error' });
  });

  it('spreads a batch’s uploaded bytes over its files in order', () => {
    service.start('L', [item('a.wav', 100), item('b.wav', 300), item('c.wav', 600)]);
    const req = open()[0];
    req.event({ type: HttpEventType.UploadProgress, loaded: 250, total: 1000 });
    expect(service.files().map((f) => f.progress)).toEqual([1, 0.5, 0]);
    expect(service.overall()).toBeCloseTo(0.25);
    // Multipart overhead: the body is larger than the files; progress is scaled to the files' bytes.
    req.event({ type: HttpEventType.UploadProgress, loaded: 1400, total: 2000 });
    expect(service.files().map((f) => f.progress)).toEqual([1, 1, 0.5]);
    flushStored(req);
    expect(service.files().map((f) => f.progress)).toEqual([1, 1, 1]);
  });

  it('keeps libraries apart: a second library queues behind the first, in its own requests', () => {
    service.start('A', items(20, 10, 'a'));
    service.start('A', items(5, 10, 'x'));
    service.start('B/C', items(3, 10, 'b'));
    let reqs = open();
    expect(reqs.map((r) => r.request.url)).toEqual(['/upload/A', '/upload/A']);
    expect(formPaths(reqs[1]).length).toBe(5);
    reqs.forEach(flushStored);
    reqs = open();
    expect(reqs.map((r) => r.request.url)).toEqual(['/upload/B%2FC']);
    expect(finished).toEqual(['A']);
    expect(service.files().filter((f) => f.lib === 'B/C').length).toBe(3);
    flushStored(reqs[0]);
    expect(finished).toEqual(['A', 'B/C']);
  });

  it('cancels queued and in-flight files, and clear() forgets finished entries', () => {
    service.start('L', items(60));
    const reqs = open();
    flushStored(reqs[0]);
    const third = open().find((r) => !reqs.includes(r));
    service.cancel();
    expect(reqs[1].cancelled).toBe(true);
    expect(third?.cancelled).toBe(true);
    expect(service.active()).toBe(false);
    expect(service.counts()).toMatchObject({ stored: 20, error: 40 });
    expect(service.files()[59].message).toBe('Cancelled');
    expect(finished).toEqual(['L']);

    service.start('L', items(1, 10, 'n'), 2);
    service.clear();
    expect(service.files().map((f) => f.path)).toEqual(['n000.wav']);
    expect(service.counts().skipped).toBe(0);
    flushStored(open()[0]);
    service.clear();
    expect(service.files()).toEqual([]);
    expect(service.overall()).toBe(0);
  });
});
