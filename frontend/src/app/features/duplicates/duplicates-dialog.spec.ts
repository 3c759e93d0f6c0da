import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { provideZonelessChangeDetection } from '@angular/core';
import { ComponentFixture, TestBed } from '@angular/core/testing';
import { MAT_DIALOG_DATA, MatDialogRef } from '@angular/material/dialog';

import type { DuplicateGroups, DuplicateSample } from '../../core/api/types';
import { DuplicatesDialog } from './duplicates-dialog';

function sound(name: string, extra: Partial<DuplicateSample> = {}): DuplicateSample {
  return { name, duration: 0.5, format: 'WAV', size: 88200, samplerate: 44100, channels: 1, isFavorite: false, ...extra };
}

const GROUPS: DuplicateGroups = {
  libname: 'My Drums',
  pending: 0,
  groups: [
    { similarity: 0.99, samples: [sound('Kits/909/kick.wav'), sound('Downloads/kick.mp3', { format: 'MP3' }), sound('kick copy.wav')] },
    { similarity: 0.97, samples: [sound('Kits/909/snare.wav'), sound('Downloads/snare 22k.flac', { format: 'FLAC', samplerate: 22050 })] },
  ],
};

describe('DuplicatesDialog', () => {
  let fixture: ComponentFixture<DuplicatesDialog>;
  let http: HttpTestingController;
  let el: HTMLElement;
  const close = vi.fn();

  const button = (text: string) =>
    Array.from(el.querySelectorAll<HTMLButtonElement>('button')).find((b) => b.textContent?.includes(text));
  const radio = (label: string) =>
    Array.from(el.querySelectorAll<HTMLElement>('mat-radio-button')).find((r) => r.textContent?.includes(label))
      ?.querySelector<HTMLInputElement>('input');

  beforeEach(async () => {
    close.mockReset();
    TestBed.configureTestingModule({
      imports: [DuplicatesDialog],
      providers: [
        provideZonelessChangeDetection(),
        provideHttpClient(),
        provideHttpClientTesting(),
        { provide: MAT_DIALOG_DATA, useValue: { lib: 'My Drums' } },
        { provide: MatDialogRef, useValue: { close } },
      ],
    });
    http = TestBed.inject(HttpTestingController);
    fixture = TestBed.createComponent(DuplicatesDialog);
    el = fixture.nativeElement as HTMLElement;
    await fixture.whenStable();
    http.expectOne('/duplicates/My%20Drums').flush(GROUPS);
    await fixture.whenStable();
  });

  afterEach(() => http.verify());

  it('lists each group with the server suggestion kept and counts what would be deleted', () => {
    expect(el.querySelectorAll('[data-testid="duplicate-group"]').length).toBe(2);
    expect(el.textContent).toContain('99% alike');
    expect(el.textContent).toContain('Downloads · FLAC · 22.1 kHz');
    expect(radio('Keep kick.wav')?.checked).toBe(true);
    expect(button('Keep one of each')?.textContent).toContain('delete 3');
  });

  it('keeps the chosen sound of each group, one request per group, and closes with what was deleted', async () => {
    radio('Keep kick.mp3')?.click();
    radio('Not duplicates: keep all')?.click(); // first group's "keep all" is the first such radio
    await fixture.whenStable();
    expect(button('Keep one of each')?.textContent).toContain('delete 1');
    // pick the MP3 again in group 1 (the "keep all" click above went to group 1)
    radio('Keep kick.mp3')?.click();
    await fixture.whenStable();
    button('Keep one of each')?.click();

    const first = http.expectOne('/duplicates/My%20Drums/resolve');
    expect(first.request.body).toEqual({ keep: 'Downloads/kick.mp3', remove: ['Kits/909/kick.wav', 'kick copy.wav'] });
    first.flush({ message: 'ok', kept: 'Downloads/kick.mp3', removed: ['Kits/909/kick.wav', 'kick copy.wav'] });
    const second = http.expectOne('/duplicates/My%20Drums/resolve');
    expect(second.request.body).toEqual({ keep: 'Kits/909/snare.wav', remove: ['Downloads/snare 22k.flac'] });
    second.flush({ message: 'ok', kept: 'Kits/909/snare.wav', removed: ['Downloads/snare 22k.flac'] });

    expect(close).toHaveBeenCalledWith({ remove: ['Kits/909/kick.wav', 'kick copy.wav', 'Downloads/snare 22k.flac'] });
  });

  it('shows the server reason when a group fails and still reports the groups already deleted', async () => {
    button('Keep one of each')?.click();
    http.expectOne('/duplicates/My%20Drums/resolve').flush({ message: 'ok', kept: 'Kits/909/kick.wav', removed: ['Downloads/kick.mp3', 'kick copy.wav'] });
    http
      .expectOne('/duplicates/My%20Drums/resolve')
      .flush({ message: "'Downloads/snare 22k.flac' is not a duplicate" }, { status: 409, statusText: 'Conflict' });
    await fixture.whenStable();
    expect(el.querySelector('[role="alert"]')?.textContent).toContain('is not a duplicate');
    http.expectOne('/duplicates/My%20Drums').flush({ ...GROUPS, groups: GROUPS.groups.slice(1) });
    await fixture.whenStable();
    button('Close')?.click();
    expect(close).toHaveBeenCalledWith({ remove: ['Downloads/kick.mp3', 'kick copy.wav'] });
  });

  it('says so when there are no duplicates and when older sounds are not compared yet', async () => {
    fixture = TestBed.createComponent(DuplicatesDialog);
    el = fixture.nativeElement as HTMLElement;
    await fixture.whenStable();
    http.expectOne('/duplicates/My%20Drums').flush({ libname: 'My Drums', pending: 4, groups: [] });
    await fixture.whenStable();
    expect(el.textContent).toContain('No duplicates');
    expect(el.querySelector('[data-testid="duplicates-pending"]')?.textContent).toContain('4 older sound(s)');
    expect(button('Keep one of each')).toBeUndefined();
  });
});
