import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { Component, provideZonelessChangeDetection, signal, viewChild } from '@angular/core';
import { ComponentFixture, TestBed } from '@angular/core/testing';

import type { SearchSample } from '../../core/api/types';
import { LibraryStore, toRow } from './library.store';
import { PlayerService } from './player.service';
import { SampleTable, TableCommand } from './sample-table';

/** A minimal stand-in for the browser's AudioContext (jsdom has none). */
class FakeAudioContext {
  state: AudioContextState = 'running';
  currentTime = 0;
  readonly destination = {};
  resume = vi.fn(() => Promise.resolve());
  createBufferSource() {
    return { buffer: null, onended: null, start: vi.fn(), stop: vi.fn(), connect: vi.fn(), disconnect: vi.fn() };
  }
  decodeAudioData(bytes: ArrayBuffer): Promise<AudioBuffer> {
    return Promise.resolve({ duration: 0.5, length: 22050, numberOfChannels: 1, sampleRate: 44100 } as AudioBuffer);
  }
}

@Component({
  imports: [SampleTable],
  template: `<div style="height: 400px"><app-sample-table [autoplay]="autoplay()" (command)="commands.push($event)" /></div>`,
})
class Host {
  readonly table = viewChild.required(SampleTable);
  readonly autoplay = signal(false);
  readonly commands: TableCommand[] = [];
}

const LIB = 'My Drums';
const PATHS = ['Kits/808 Classic/kick.wav', 'Kits/808 Classic/snare.wav', 'Kits/909/hat.wav', 'Loops/funk 90.wav', 'new.wav'];

function sample(path: string, extra: Partial<SearchSample> = {}): SearchSample {
  return {
    name: path, path, folder: path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '',
    duration: 0.4, format: 'WAV', size: 1000, samplerate: 44100, channels: 1, isFavorite: false, analysed: true,
    class: 'Kick', likelihood: 0.9, corrected: false, modelClass: 'Kick', tags: [['Kick', 'auto', '0.9']], addedAt: null, bpm: null, bpmSource: null, subclass: 'kick',
    ...extra,
  };
}

describe('SampleTable', () => {
  let fixture: ComponentFixture<Host>;
  let host: Host;
  let store: LibraryStore;
  let player: PlayerService;
  let http: HttpTestingController;
  let grid: HTMLElement;

  async function press(key: string, init: KeyboardEventInit = {}): Promise<KeyboardEvent> {
    const event = new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, ...init });
    grid.dispatchEvent(event);
    await fixture.whenStable();
    return event;
  }

  let addedScrollTo = false;

  beforeEach(async () => {
    // browser APIs jsdom lacks: Web Audio, element scrolling (the table keeps the active row in sight), canvas drawing
    vi.stubGlobal('AudioContext', FakeAudioContext);
    if (!('scrollTo' in Element.prototype)) {
      addedScrollTo = true;
      Object.defineProperty(Element.prototype, 'scrollTo', { configurable: true, writable: true, value: function () {} });
    }
    vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockReturnValue(null);
    localStorage.setItem('ds.autoplay', 'off');
    TestBed.configureTestingModule({
      imports: [Host],
      providers: [provideZonelessChangeDetection(), provideHttpClient(), provideHttpClientTesting(), LibraryStore],
    });
    http = TestBed.inject(HttpTestingController);
    store = TestBed.inject(LibraryStore);
    player = TestBed.inject(PlayerService);
    store.lib.set(LIB);
    store.rows.set(PATHS.map((path) => toRow(sample(path))));
    fixture = TestBed.createComponent(Host);
    host = fixture.componentInstance;
    await fixture.whenStable();
    grid = fixture.nativeElement.querySelector('[data-testid=sample-table]');
  });

  afterEach(() => {
    // the table preloads the active row's neighbours; the detail panel's neighbours follow the active row
    http.match((req) => req.url.startsWith('/audio/') || req.url.startsWith('/similar/'));
    http.verify();
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
    if (addedScrollTo) delete (Element.prototype as Partial<Element>).scrollTo;
    localStorage.removeItem('ds.autoplay');
  });

  it('renders a focusable grid', () => {
    expect(grid).not.toBeNull();
    expect(grid.getAttribute('role')).toBe('grid');
    expect(grid.tabIndex).toBe(0);
    expect(grid.getAttribute('aria-rowcount')).toBe(String(PATHS.length + 1));
  });

  it('shows the sub-class under the class where it says more than the class', async () => {
    store.rows.set([
      toRow(sample('Kits/909/clap.wav', { class: 'Snare', subclass: 'clap' })),
      toRow(sample('Kits/909/kick.wav')),
      toRow(sample('Perc/cowbell.wav', { class: 'Unknown', subclass: 'percussion' })),
    ]);
    await fixture.whenStable();
    const cell = (path: string) => grid.querySelector(`[data-path="${path}"] .c-class`);
    expect(cell('Kits/909/clap.wav')?.querySelector('[data-testid=subclass]')?.textContent?.trim()).toBe('clap');
    expect(cell('Perc/cowbell.wav')?.querySelector('[data-testid=subclass]')?.textContent?.trim()).toBe('percussion');
    expect(cell('Kits/909/kick.wav')?.querySelector('[data-testid=subclass]')).toBeNull(); // a kick is a kick
  });

  it('ArrowDown / ArrowUp / Home / End move the active row', async () => {
    const down = await press('ArrowDown');
    expect(down.defaultPrevented).toBe(true);
    expect(store.active()).toBe(PATHS[0]);
    await press('ArrowDown');
    await press('ArrowDown');
    expect(store.active()).toBe(PATHS[2]);
    await press('ArrowUp');
    expect(store.active()).toBe(PATHS[1]);
    await press('End');
    expect(store.active()).toBe(PATHS[4]);
    await press('ArrowDown');
    expect(store.active()).toBe(PATHS[4]);
    await press('Home');
    expect(store.active()).toBe(PATHS[0]);
    await press('ArrowUp');
    expect(store.active()).toBe(PATHS[0]);
    expect(store.selection().size).toBe(0);
    expect(grid.getAttribute('aria-activedescendant')).toMatch(/^row-/);
  });

  it('ArrowUp without an active row goes to the first row', async () => {
    await press('ArrowUp');
    expect(store.active()).toBe(PATHS[0]);
  });

  it('moves in the order of the filtered, sorted view', async () => {
    store.sort.set({ key: 'path', descending: true });
    store.query.set('kits');
    await fixture.whenStable();
    await press('Home');
    expect(store.active()).toBe(PATHS[2]);
    await press('ArrowDown');
    expect(store.active()).toBe(PATHS[1]);
    await press('End');
    expect(store.active()).toBe(PATHS[0]);
  });

  it('Shift+ArrowDown extends the selection from the anchor', async () => {
    await press('ArrowDown');
    await press('ArrowDown', { shiftKey: true });
    await press('ArrowDown', { shiftKey: true });
    expect(store.active()).toBe(PATHS[2]);
    expect(store.selection()).toEqual(new Set(PATHS.slice(0, 3)));
    await press('ArrowUp', { shiftKey: true });
    expect(store.selection()).toEqual(new Set(PATHS.slice(0, 2)));
    expect(store.targets()).toEqual(PATHS.slice(0, 2));
    // a plain move drops the selection
    await press('ArrowDown');
    expect(store.selection().size).toBe(0);
  });

  it('Ctrl+A selects every visible row', async () => {
    store.query.set('kits');
    await press('a', { ctrlKey: true });
    expect(store.selection()).toEqual(new Set(PATHS.slice(0, 3)));
  });

  it("'f' toggles the favourite of the targets", async () => {
    await press('ArrowDown');
    await press('ArrowDown', { shiftKey: true });
    const event = await press('f');
    expect(event.defaultPrevented).toBe(true);
    const puts = http.match((req) => req.url.startsWith('/samplefavorite/update/'));
    expect(puts.map((r) => r.request.url)).toEqual([
      '/samplefavorite/update/My%20Drums/Kits/808%20Classic/kick.wav',
      '/samplefavorite/update/My%20Drums/Kits/808%20Classic/snare.wav',
    ]);
    expect(puts.every((r) => r.request.method === 'PUT' && r.request.body.isFavorite === true)).toBe(true);
    expect(store.favoriteCount()).toBe(2);
    puts.forEach((r) => r.flush({ message: 'ok' }));
    http.expectOne('/recommendations/My%20Drums/explained').flush([]);
  });

  it("'f' with nothing active does nothing", async () => {
    await press('f');
    http.expectNone((req) => req.url.startsWith('/samplefavorite/'));
  });

  it("'?' and the command letters emit commands", async () => {
    await press('?');
    await press('s');
    await press('T');
    await press('Delete');
    expect(host.commands).toEqual(['help', 'similar', 'tag', 'delete']);
  });

  it('ignores Alt combinations and Ctrl letters other than A', async () => {
    await press('ArrowDown', { altKey: true });
    await press('f', { ctrlKey: true });
    expect(store.active()).toBeNull();
    expect(host.commands).toEqual([]);
    http.expectNone((req) => req.url.startsWith('/samplefavorite/'));
  });

  it('Escape clears the selection when nothing plays', async () => {
    store.selection.set(new Set(PATHS.slice(1, 3)));
    await press('Escape');
    expect(player.state()).toBe('idle');
    expect(store.selection().size).toBe(0);
  });

  it('Escape stops playback first, keeping the selection', async () => {
    store.selection.set(new Set(PATHS.slice(1, 3)));
    player.state.set('playing');
    const stop = vi.spyOn(player, 'stop');
    await press('Escape');
    expect(stop).toHaveBeenCalled();
    expect(player.state()).toBe('idle');
    expect(store.selection().size).toBe(2);
  });

  it('plays the row it moves to when autoplay is on', async () => {
    const play = vi.spyOn(player, 'play').mockResolvedValue();
    host.autoplay.set(true);
    await fixture.whenStable();
    await press('ArrowDown');
    expect(play).toHaveBeenCalledWith(LIB, PATHS[0]);
    // a held key only plays sounds that are ready
    await press('ArrowDown', { repeat: true });
    expect(play).toHaveBeenCalledTimes(1);
    expect(store.active()).toBe(PATHS[1]);
  });

  it('does not play while moving when autoplay is off', async () => {
    const play = vi.spyOn(player, 'play').mockResolvedValue();
    await press('ArrowDown');
    await press('End');
    expect(play).not.toHaveBeenCalled();
  });

  it('Space plays the first row when none is active, then toggles playback', async () => {
    const play = vi.spyOn(player, 'play').mockResolvedValue();
    await press(' ');
    expect(store.active()).toBe(PATHS[0]);
    expect(play).toHaveBeenCalledWith(LIB, PATHS[0]);
    player.state.set('playing');
    const stop = vi.spyOn(player, 'stop');
    await press(' ');
    expect(stop).toHaveBeenCalled();
  });

  it('preloads the active row and its neighbours', async () => {
    await press('ArrowDown');
    await press('ArrowDown');
    const urls = http.match((req) => req.url.startsWith('/audio/')).map((r) => r.request.url);
    expect(urls).toContain('/audio/My%20Drums/Kits/808%20Classic/kick.wav');
    expect(urls).toContain('/audio/My%20Drums/Kits/808%20Classic/snare.wav');
    expect(urls).toContain('/audio/My%20Drums/Kits/909/hat.wav');
  });

  describe('clicks', () => {
    const rowEl = (path: string) =>
      Array.from((fixture.nativeElement as HTMLElement).querySelectorAll<HTMLElement>('[data-testid=sample-row]')).find((r) => r.dataset['path'] === path);

    beforeEach(async () => {
      // the virtual scroll renders rows only for a viewport with a size, which jsdom does not lay out
      vi.spyOn(HTMLElement.prototype, 'clientHeight', 'get').mockReturnValue(400);
      vi.spyOn(HTMLElement.prototype, 'clientWidth', 'get').mockReturnValue(800);
      host.table()['viewport']().checkViewportSize();
      await fixture.whenStable();
      await new Promise((resolve) => requestAnimationFrame(resolve));
      await fixture.whenStable();
    });
    it('renders the rows', () => {
      expect(PATHS.every((path) => rowEl(path))).toBe(true);
    });

    it('ctrl-click toggles the selection without playing', async () => {
      const play = vi.spyOn(player, 'play').mockResolvedValue();
      store.select(PATHS[0]);
      rowEl(PATHS[2])!.dispatchEvent(new MouseEvent('click', { bubbles: true, ctrlKey: true }));
      await fixture.whenStable();
      expect(store.selection()).toEqual(new Set([PATHS[0], PATHS[2]]));
      expect(store.active()).toBe(PATHS[2]);
      rowEl(PATHS[0])!.dispatchEvent(new MouseEvent('click', { bubbles: true, metaKey: true }));
      await fixture.whenStable();
      expect(store.selection()).toEqual(new Set([PATHS[2]]));
      expect(play).not.toHaveBeenCalled();
      expect(rowEl(PATHS[2])!.classList).toContain('selected');
    });

    it('shift-click selects a range; a plain click selects one row and plays it', async () => {
      const play = vi.spyOn(player, 'play').mockResolvedValue();
      store.select(PATHS[1]);
      rowEl(PATHS[3])!.dispatchEvent(new MouseEvent('click', { bubbles: true, shiftKey: true }));
      await fixture.whenStable();
      expect(store.selection()).toEqual(new Set(PATHS.slice(1, 4)));
      rowEl(PATHS[4])!.dispatchEvent(new MouseEvent('click', { bubbles: true }));
      await fixture.whenStable();
      expect(store.selection().size).toBe(0);
      expect(store.active()).toBe(PATHS[4]);
      expect(play).toHaveBeenCalledWith(LIB, PATHS[4]);
      expect(document.activeElement).toBe(grid);
    });

    it("the star toggles the row's favourite without selecting it", async () => {
      rowEl(PATHS[1])!.querySelector<HTMLButtonElement>('button.star')!.click();
      await fixture.whenStable();
      expect(store.active()).toBeNull();
      const put = http.expectOne('/samplefavorite/update/My%20Drums/Kits/808%20Classic/snare.wav');
      expect(put.request.body).toEqual({ isFavorite: true });
      put.flush({ message: 'ok' });
      http.expectOne('/recommendations/My%20Drums/explained').flush([]);
    });
  });
});
