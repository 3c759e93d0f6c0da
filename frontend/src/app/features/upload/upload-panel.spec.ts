import { provideHttpClient } from '@angular/common/http';
import {
  HttpTestingController,
  TestRequest,
  provideHttpClientTesting,
} from '@angular/common/http/testing';
import { provideZonelessChangeDetection } from '@angular/core';
import { ComponentFixture, TestBed } from '@angular/core/testing';

import type { FileOutcome } from '../../core/api/types';
import type { UploadItem } from './collect';
import { UploadPanel } from './upload-panel';
import { UploadService } from './upload.service';

function item(path: string): UploadItem {
  return { file: new File([new Uint8Array(8)], path.split('/').pop() ?? path), path };
}

function paths(req: TestRequest): string[] {
  return (req.request.body as FormData).getAll('path').map(String);
}

describe('UploadPanel', () => {
  let fixture: ComponentFixture<UploadPanel>;
  let service: UploadService;
  let http: HttpTestingController;
  let el: HTMLElement;

  const open = () => http.match((req) => req.url.startsWith('/upload/'));
  const rows = () => Array.from(el.querySelectorAll<HTMLElement>('[data-testid="upload-row"]'));
  const title = () => el.querySelector('h2')?.textContent?.trim() ?? '';
  const button = (text: string) =>
    Array.from(el.querySelectorAll<HTMLButtonElement>('button')).find((b) =>
      b.textContent?.includes(text),
    );

  beforeEach(async () => {
    TestBed.configureTestingModule({
      imports: [UploadPanel],
      providers: [
        provideZonelessChangeDetection(),
        provideHttpClient(),
        provideHttpClientTesting(),
      ],
    });
    service = TestBed.inject(UploadService);
    http = TestBed.inject(HttpTestingController);
    fixture = TestBed.createComponent(UploadPanel);
    el = fixture.nativeElement as HTMLElement;
    await fixture.whenStable();
  });

  afterEach(() => http.verify());

  it('shows progress while importing, then the outcome with problems first', async () => {
    service.start(
      'Drums',
      [item('Kits/kick.wav'), item('Kits/clap.wav'), item('snare.wav'), item('x.wav')],
      3,
    );
    await fixture.whenStable();
    expect(el.querySelector('[data-testid="upload-panel"]')).not.toBeNull();
    expect(title()).toBe('Importing 4 files');
    expect(el.querySelector('[aria-live="polite"]')?.textContent).toContain('0 of 4 done');
    expect(el.querySelector('[aria-live="polite"]')?.textContent).toContain(
      '3 files skipped (not audio)',
    );
    const overall = el.querySelector('[data-testid="upload-overall"]');
    expect(overall?.getAttribute('aria-label')).toBe('Overall upload progress');
    expect(rows().map((row) => row.dataset['status'])).toEqual([
      'uploading',
      'uploading',
      'uploading',
      'uploading',
    ]);
    expect(rows()[0].querySelector('[role="progressbar"]')).not.toBeNull();
    expect(button('Cancel')).toBeDefined();
    expect(button('Close')).toBeUndefined();

    const req = open()[0];
    const outcomes: FileOutcome[] = [
      { path: 'Kits/kick.wav', status: 'stored', message: 'stored' },
      { path: 'Kits/clap.wav', status: 'duplicate', message: 'same', duplicateOf: 'Old/clap.wav' },
      { path: 'snare.wav', status: 'stored', message: 'stored' },
      { path: 'x.wav', status: 'rejected', message: "'x.wav' is not audio (format: text)" },
    ];
    req.flush({ message: '2 stored, 1 duplicate, 1 rejected', files: outcomes });
    expect(paths(req)).toEqual(outcomes.map((o) => o.path));
    await fixture.whenStable();
    expect(title()).toBe('Import finished: 2 stored, 1 duplicate, 1 rejected');
    expect(rows().map((row) => row.dataset['status'])).toEqual([
      'rejected',
      'stored',
      'duplicate',
      'stored',
    ]);
    expect(rows()[0].textContent).toContain("'x.wav' is not audio (format: text)");
    expect(rows()[2].textContent).toContain('same sound as Old/clap.wav');
    expect(button('Cancel')).toBeUndefined();
    expect(button('Retry failed')).toBeUndefined();

    let closed = 0;
    fixture.componentInstance.closed.subscribe(() => closed++);
    button('Close')?.click();
    await fixture.whenStable();
    expect(closed).toBe(1);
    expect(service.files()).toEqual([]);
  });

  it('offers to retry failed files and to cancel', async () => {
    service.start('Drums', [item('a.wav'), item('b.wav')]);
    await fixture.whenStable();
    open()[0].flush(
      { message: 'the disk of the server is full' },
      { status: 507, statusText: 'Insufficient Storage' },
    );
    await fixture.whenStable();
    expect(title()).toBe('Import finished: 2 failed');
    expect(rows()[0].dataset['status']).toBe('error');
    expect(rows()[0].textContent).toContain('the disk of the server is full');

    button('Retry failed')?.click();
    await fixture.whenStable();
    expect(title()).toBe('Importing 2 files');
    const retried = open();
    expect(retried.length).toBe(1);
    button('Cancel')?.click();
    await fixture.whenStable();
    expect(retried[0].cancelled).toBe(true);
    expect(rows().map((row) => row.textContent)).toEqual([
      expect.stringContaining('Cancelled'),
      expect.stringContaining('Cancelled'),
    ]);
  });

  it('uses a virtual scroll viewport for many files', async () => {
    service.start(
      'Drums',
      Array.from({ length: 500 }, (_, i) => item(`s${i}.wav`)),
    );
    await fixture.whenStable();
    expect(el.querySelector('cdk-virtual-scroll-viewport')).not.toBeNull();
    expect(rows().length).toBeGreaterThan(0);
    expect(rows().length).toBeLessThan(100);
    expect(title()).toBe('Importing 500 files');
    service.cancel();
    await fixture.whenStable();
    open(); // the aborted requests
  });
});
