import { provideHttpClient } from '@angular/common/http';
import { HttpRequest } from '@angular/common/http';
import { HttpTestingController, TestRequest, provideHttpClientTesting } from '@angular/common/http/testing';
import { provideZonelessChangeDetection } from '@angular/core';
import { TestBed } from '@angular/core/testing';

import type { Job, SearchResult, SearchSample } from '../../core/api/types';
import { NotifyService } from '../../core/notify.service';
import { LibraryStore, Row, toRow } from './library.store';
import { parseQuery, queryMatches } from './query';

const LIB = 'My Drums';
const LIB_URL = 'My%20Drums';

function sample(path: string, extra: Partial<SearchSample> = {}): SearchSample {
  const slash = path.lastIndexOf('/');
  const cls = extra.class === undefined ? 'Kick' : extra.class;
  return {
    name: path,
    path,
    folder: slash < 0 ? '' : path.slice(0, slash),
    duration: 0.5,
    format: 'WAV',
    size: 44100,
    samplerate: 44100,
    channels: 1,
    isFavorite: false,
    analysed: cls !== null,
    class: cls,
    likelihood: cls === null ? null : 0.9,
    corrected: false,
    modelClass: cls,
    tags: cls === null ? [] : [[cls, 'auto', '0.900']],
    addedAt: '2026-01-01T00:00:00Z',
    bpm: null,
    bpmSource: null,
    subclass: cls === 'Kick' ? 'kick' : null,
    ...extra,
  };
}

function result(samples: SearchSample[], total = samples.length, offset = 0, limit = 1000): SearchResult {
  return { libname: LIB, total, offset, limit, sort: 'path', samples };
}

function job(state: Job['state'], done = 0): Job {
  return {
    id: 'job-1', library: LIB, state, done, total: 10, failed: [], message: null,
    createdAt: null, startedAt: null, finishedAt: null,
  };
}

const macrotask = () => new Promise<void>((resolve) => setTimeout(resolve));

describe('LibraryStore', () => {
  let store: LibraryStore;
  let http: HttpTestingController;
  let notifyError: ReturnType<typeof vi.fn<(error: unknown, context?: string) => void>>;

  const isSearch = (offset: number, limit = 1000) => (req: HttpRequest<unknown>) =>
    req.url === `/search/${LIB_URL}` && req.params.get('offset') === String(offset) && req.params.get('limit') === String(limit);
  const paths = () => store.view().map((row) => row.path);
  const setRows = (samples: SearchSample[]) => store.rows.set(samples.map(toRow));

  /** A recommendation as `/recommendations/<lib>/explained` lists it. */
  function explained(name: string): { name: string; because: string; distance: number; sameClass: boolean } {
    return { name, because: 'fav.wav', distance: 0.1, sameClass: true };
  }

  /** Answers the requests of `open()` besides the rows: thumbnails, analysis (done at once) and recommendations. */
  async function answerSideRequests(recommendations: string[] = []): Promise<void> {
    http.expectOne(`/waveforms/${LIB_URL}`).flush({ libname: LIB, pairs: 64, samples: [] });
    http.expectOne(`/recommendations/${LIB_URL}/explained`).flush(recommendations.map((name) => explained(name)));
    http.expectOne(`/analyze/${LIB_URL}`).flush({ message: 'started', job: 'job-1' });
    await macrotask(); // the job is polled from a timer
    http.expectOne('/jobs/job-1').flush(job('done', 10));
  }

  /** Sets up an open library with `samples` (one page) without going through open(). */
  function given(samples: SearchSample[]): void {
    store.lib.set(LIB);
    setRows(samples);
  }

  /** Answers a full reload (one page). */
  function answerReload(samples: SearchSample[]): void {
    http.expectOne(isSearch(0)).flush(result(samples));
  }

  beforeEach(() => {
    TestBed.configureTestingModule({
      providers: [provideZonelessChangeDetection(), provideHttpClient(), provideHttpClientTesting(), LibraryStore],
    });
    http = TestBed.inject(HttpTestingController);
    notifyError = vi.fn<(error: unknown, context?: string) => void>();
    vi.spyOn(TestBed.inject(NotifyService), 'error').mockImplementation(notifyError);
    vi.spyOn(TestBed.inject(NotifyService), 'info').mockImplementation(() => undefined);
    store = TestBed.inject(LibraryStore);
  });

  afterEach(() => {
    store.stop();
    http.match((req) => req.url.startsWith('/similar/')); // the detail panel's neighbours follow the active row
    http.match((req) => req.url.startsWith('/suggestions/')); // class suggestions are read on open and after corrections
    http.match((req) => req.url.endsWith('/preview') && !req.params.has('reach')); // the library's reach, read on open
    http.verify();
  });

  // --- loading ---------------------------------------------------------------------------------------------

  describe('open', () => {
    it('loads the first page, then the remaining pages, keeping path order', async () => {
      const all = Array.from({ length: 2500 }, (_, i) => sample(`Kits/Kit ${String(i).padStart(4, '0')}/kick.wav`));
      store.open(LIB);
      expect(store.lib()).toBe(LIB);
      expect(store.loading()).toBe(true);

      const first = http.expectOne(isSearch(0));
      expect(first.request.method).toBe('GET');
      expect(first.request.urlWithParams).toBe(`/search/${LIB_URL}?offset=0&limit=1000&sort=path`);
      first.flush(result(all.slice(0, 1000), 2500));

      // the first page shows at once
      expect(store.rows()).toHaveLength(1000);
      expect(store.loading()).toBe(true);

      // the rest: two more pages, requested together
      const second = http.expectOne(isSearch(1000));
      const third = http.expectOne(isSearch(2000));
      http.expectNone(isSearch(3000));
      third.flush(result(all.slice(2000), 2500, 2000)); // out of order
      expect(store.rows()).toHaveLength(1000);
      second.flush(result(all.slice(1000, 2000), 2500, 1000));

      expect(store.loading()).toBe(false);
      expect(store.loadedOnce()).toBe(true);
      expect(store.rows()).toHaveLength(2500);
      expect(store.rows().map((row) => row.path)).toEqual(all.map((s) => s.path));
      await answerSideRequests();
    });

    it('loads a small library in one request, plus thumbnails, recommendations and the analysis', async () => {
      store.open(LIB);
      http.expectOne(isSearch(0)).flush(result([sample('a.wav'), sample('b.wav')]));
      expect(store.rows().map((r) => r.path)).toEqual(['a.wav', 'b.wav']);
      expect(store.loading()).toBe(false);

      http.expectOne(`/waveforms/${LIB_URL}`).flush({ libname: LIB, pairs: 64, samples: [{ name: 'a.wav', thumb: 'AAAA' }, { name: 'b.wav', thumb: null }] });
      expect(store.thumbs().get('a.wav')).toBe('AAAA');
      expect(store.thumbs().get('b.wav')).toBeNull();
      http.expectOne(`/recommendations/${LIB_URL}/explained`).flush([explained('b.wav')]);
      expect(store.recommendations().map((r) => r.name)).toEqual(['b.wav']);
      http.expectOne(`/analyze/${LIB_URL}`).flush({ message: 'started', job: 'job-1' });
      await macrotask();
      http.expectOne('/jobs/job-1').flush(job('done', 10));
      expect(store.job()?.state).toBe('done');
      expect(store.analysing()).toBe(false);
    });

    it('reloads rows, thumbnails and recommendations when a running analysis finishes', async () => {
      store.open(LIB);
      answerReload([sample('a.wav', { class: null })]);
      http.expectOne(`/waveforms/${LIB_URL}`).flush({ libname: LIB, pairs: 64, samples: [] });
      http.expectOne(`/recommendations/${LIB_URL}/explained`).flush([]);
      http.expectOne(`/analyze/${LIB_URL}`).flush({ message: 'started', job: 'job-1' });
      await macrotask();
      http.expectOne('/jobs/job-1').flush(job('running', 0));
      expect(store.analysing()).toBe(true);

      await new Promise((resolve) => setTimeout(resolve, 1050)); // the next poll
      http.expectOne('/jobs/job-1').flush(job('done', 10));
      expect(store.analysing()).toBe(false);
      answerReload([sample('a.wav', { class: 'Snare' })]);
      http.expectOne(`/waveforms/${LIB_URL}`).flush({ libname: LIB, pairs: 64, samples: [] });
      http.expectOne(`/recommendations/${LIB_URL}/explained`).flush([]);
      expect(store.rows()[0].shownClass).toBe('Snare');
    });

    it('reports a failed load', async () => {
      store.open(LIB);
      http.expectOne(isSearch(0)).flush({ message: 'boom' }, { status: 500, statusText: 'Server Error' });
      expect(store.loading()).toBe(false);
      expect(store.loadError()).toBe('Could not load the library');
      expect(notifyError).toHaveBeenCalledWith(expect.anything(), 'Could not load the library');
      await answerSideRequests();
    });

    it('drops selected and active rows that vanished on reload', () => {
      given([sample('a.wav'), sample('b.wav'), sample('c.wav')]);
      store.select('b.wav');
      store.select('c.wav', 'toggle');
      expect(store.selection()).toEqual(new Set(['b.wav', 'c.wav']));
      store.reload();
      answerReload([sample('a.wav'), sample('b.wav')]);
      expect(store.selection()).toEqual(new Set(['b.wav']));
      expect(store.active()).toBeNull();
    });
  });

  // --- rows --------------------------------------------------------------------------------------------------

  describe('toRow', () => {
    it('derives file name, search key, user and propagated tags', () => {
      const row = toRow(
        sample('Kits/808 Classic/Kíck Hard.wav', {
          tags: [['Kick', 'auto', '0.930'], ['Punchy', 'user', '1.0'], ['dark', 'propagated', '0.750']],
        }),
      );
      expect(row.fileName).toBe('Kíck Hard.wav');
      expect(row.shownClass).toBe('Kick');
      expect(row.corrected).toBe(false);
      expect(row.userTags).toEqual(['Punchy']);
      expect(row.propagated).toEqual([{ name: 'dark', confidence: 0.75 }]);
      expect(row.key).toEqual({ path: 'kits/808 classic/kick hard.wav', tags: ['kick', 'punchy', 'dark'] });
    });

    it('names the sub-class and lets its words find the sound (a clap is a Snare)', () => {
      const clap = toRow(sample('Kits/909/clap.wav', { class: 'Snare', subclass: 'clap' }));
      const hat = toRow(sample('Kits/909/oh.wav', { class: 'Cymbal', subclass: 'open_hat' }));
      expect(clap.subclassName).toBe('clap');
      expect(hat.subclassName).toBe('open hat');
      expect(queryMatches(parseQuery('clap'), clap.key)).toBe(true);
      expect(queryMatches(parseQuery('"open hat"'), hat.key)).toBe(true);
      expect(queryMatches(parseQuery('clap'), hat.key)).toBe(false);
    });

    it('shows a user tag named like a class as the class when the auto tag is hidden', () => {
      const row = toRow(sample('a.wav', { class: null, likelihood: null, tags: [['Snare', 'user', '1.0'], ['tight', 'user', '1.0']] }));
      expect(row.shownClass).toBe('Snare');
      expect(row.corrected).toBe(true);
      expect(row.userTags).toEqual(['tight']);
    });

    it('keeps the auto class, and a class-named user tag as a plain tag, when the auto tag is there', () => {
      const row = toRow(sample('a.wav', { class: 'Kick', tags: [['Kick', 'auto', '0.9'], ['Snare', 'user', '1.0']] }));
      expect(row.shownClass).toBe('Kick');
      expect(row.corrected).toBe(false);
      expect(row.userTags).toEqual(['Snare']);
    });

    it('has no class when not analysed', () => {
      const row = toRow(sample('a.wav', { class: null, tags: [['vintage', 'user', '1.0']] }));
      expect(row.shownClass).toBeNull();
      expect(row.corrected).toBe(false);
      expect(row.userTags).toEqual(['vintage']);
    });
  });

  // --- filters -----------------------------------------------------------------------------------------------

  describe('filters', () => {
    const samples = [
      sample('Kits/808 Classic/kick.wav', { class: 'Kick', isFavorite: true }),
      sample('Kits/808 Classic/snare.wav', { class: 'Snare', tags: [['Snare', 'auto', '0.8'], ['crisp', 'user', '1.0']] }),
      sample('Kits/909/kick hard.wav', { class: 'Kick' }),
      sample('Kits/909/ride.wav', { class: 'Cymbal', isFavorite: true, tags: [['Cymbal', 'auto', '0.7'], ['Crisp', 'propagated', '0.6']] }),
      sample('Loops/funk.wav', { class: 'Drumloop' }),
      sample('Inbox/new.wav', { class: null }),
    ];
    beforeEach(() => given(samples));

    it('shows everything in path order without filters', () => {
      expect(paths()).toEqual(samples.map((s) => s.path));
      expect(store.filtersOn()).toBe(false);
    });

    it('filters by the query', () => {
      store.query.set('kick -808');
      expect(paths()).toEqual(['Kits/909/kick hard.wav']);
      store.query.set('hh');
      expect(paths()).toEqual(['Kits/909/ride.wav']);
      store.query.set('"808 classic"');
      expect(paths()).toEqual(['Kits/808 Classic/kick.wav', 'Kits/808 Classic/snare.wav']);
      expect(store.filtersOn()).toBe(true);
    });

    it('filters by class chips; counts ignore the chips but follow the other filters', () => {
      expect(store.classCounts()).toEqual(
        new Map([['Kick', 2], ['Snare', 1], ['Cymbal', 1], ['Drumloop', 1], ['Not analysed', 1]]),
      );
      store.toggleClass('Kick');
      expect(paths()).toEqual(['Kits/808 Classic/kick.wav', 'Kits/909/kick hard.wav']);
      store.toggleClass('Not analysed');
      expect(paths()).toEqual(['Kits/808 Classic/kick.wav', 'Kits/909/kick hard.wav', 'Inbox/new.wav']);
      expect(store.classCounts().get('Kick')).toBe(2);

      store.query.set('909');
      expect(store.classCounts()).toEqual(new Map([['Kick', 1], ['Cymbal', 1]]));
      expect(paths()).toEqual(['Kits/909/kick hard.wav']);

      store.toggleClass('Kick');
      store.toggleClass('Not analysed');
      expect(paths()).toEqual(['Kits/909/kick hard.wav', 'Kits/909/ride.wav']);
    });

    it('shows favourites only', () => {
      store.favoritesOnly.set(true);
      expect(paths()).toEqual(['Kits/808 Classic/kick.wav', 'Kits/909/ride.wav']);
      expect(store.favoriteCount()).toBe(2);
    });

    it('filters by a tag, user or propagated, ignoring case', () => {
      store.tagFilter.set('crisp');
      expect(paths()).toEqual(['Kits/808 Classic/snare.wav', 'Kits/909/ride.wav']);
      expect(store.customTags()).toEqual(['crisp', 'Crisp']);
    });

    it('filters by the lasso', () => {
      store.lasso.set(new Set(['Loops/funk.wav', 'Kits/909/ride.wav', 'gone.wav']));
      expect(paths()).toEqual(['Kits/909/ride.wav', 'Loops/funk.wav']);
    });

    it('combines filters, and clears them all', () => {
      store.query.set('kits');
      store.favoritesOnly.set(true);
      store.toggleClass('Cymbal');
      expect(paths()).toEqual(['Kits/909/ride.wav']);
      store.clearFilters();
      expect(store.filtersOn()).toBe(false);
      expect(paths()).toHaveLength(samples.length);
    });
  });

  // --- sorting -----------------------------------------------------------------------------------------------

  describe('sort', () => {
    const samples = [
      sample('A/zeta.wav', { class: 'Snare', duration: 1 }),
      sample('B/alpha.wav', { class: 'Kick', duration: 2 }),
      sample('C/Beta.wav', { class: null, duration: 1 }),
      sample('D/alpha.wav', { class: 'Kick', duration: 0.5 }),
    ];
    beforeEach(() => given(samples));

    it('sorts by name (ignoring case), ties in path order; again for descending', () => {
      store.setSort('name');
      expect(store.sort()).toEqual({ key: 'name', descending: false });
      expect(paths()).toEqual(['B/alpha.wav', 'D/alpha.wav', 'C/Beta.wav', 'A/zeta.wav']);
      store.setSort('name');
      expect(store.sort()).toEqual({ key: 'name', descending: true });
      expect(paths()).toEqual(['A/zeta.wav', 'C/Beta.wav', 'B/alpha.wav', 'D/alpha.wav']);
    });

    it('sorts by duration, ties in path order whichever the direction', () => {
      store.setSort('duration');
      expect(paths()).toEqual(['D/alpha.wav', 'A/zeta.wav', 'C/Beta.wav', 'B/alpha.wav']);
      store.setSort('duration');
      expect(paths()).toEqual(['B/alpha.wav', 'A/zeta.wav', 'C/Beta.wav', 'D/alpha.wav']);
    });

    it('sorts by class with unanalysed sounds last', () => {
      store.setSort('class');
      expect(paths()).toEqual(['B/alpha.wav', 'D/alpha.wav', 'A/zeta.wav', 'C/Beta.wav']);
    });

    it('reverses path order, and starts ascending on a new key', () => {
      store.setSort('path');
      expect(store.sort()).toEqual({ key: 'path', descending: true });
      expect(paths()).toEqual(['D/alpha.wav', 'C/Beta.wav', 'B/alpha.wav', 'A/zeta.wav']);
      store.setSort('duration');
      expect(store.sort()).toEqual({ key: 'duration', descending: false });
    });
  });

  // --- selection -------------------------------------------------------------------------------------------

  describe('select', () => {
    beforeEach(() => given(['a.wav', 'b.wav', 'c.wav', 'd.wav', 'e.wav'].map((p) => sample(p))));

    it('single: makes the row active and clears the selection; targets the active row', () => {
      store.selection.set(new Set(['a.wav', 'b.wav']));
      store.select('c.wav');
      expect(store.active()).toBe('c.wav');
      expect(store.anchor()).toBe('c.wav');
      expect(store.selection().size).toBe(0);
      expect(store.activeIndex()).toBe(2);
      expect(store.activeRow()?.path).toBe('c.wav');
      expect(store.targets()).toEqual(['c.wav']);
    });

    it('toggle: adds the active row first, then adds or removes rows', () => {
      store.select('b.wav');
      store.select('d.wav', 'toggle');
      expect(store.selection()).toEqual(new Set(['b.wav', 'd.wav']));
      expect(store.active()).toBe('d.wav');
      store.select('e.wav', 'toggle');
      expect(store.selection()).toEqual(new Set(['b.wav', 'd.wav', 'e.wav']));
      store.select('b.wav', 'toggle');
      expect(store.selection()).toEqual(new Set(['d.wav', 'e.wav']));
      expect(store.targets()).toEqual(['d.wav', 'e.wav']);
    });

    it('toggle on the active row alone selects just it', () => {
      store.select('b.wav');
      store.select('b.wav', 'toggle');
      expect(store.selection()).toEqual(new Set(['b.wav']));
    });

    it('range: extends from the anchor in view order, both ways', () => {
      store.select('b.wav');
      store.select('d.wav', 'range');
      expect(store.selection()).toEqual(new Set(['b.wav', 'c.wav', 'd.wav']));
      expect(store.active()).toBe('d.wav');
      store.select('a.wav', 'range');
      expect(store.selection()).toEqual(new Set(['a.wav', 'b.wav']));
      expect(store.targets()).toEqual(['a.wav', 'b.wav']);
    });

    it('range follows the sorted view', () => {
      store.sort.set({ key: 'path', descending: true });
      store.select('d.wav');
      store.select('b.wav', 'range');
      expect([...store.selection()]).toEqual(['d.wav', 'c.wav', 'b.wav']);
    });

    it('selectAll selects the visible rows only', () => {
      store.query.set('-c.wav');
      store.selectAll();
      expect(store.selection()).toEqual(new Set(['a.wav', 'b.wav', 'd.wav', 'e.wav']));
    });

    it('targets nothing without an active row or selection', () => {
      expect(store.targets()).toEqual([]);
    });
  });

  // --- edits -------------------------------------------------------------------------------------------------

  describe('edits', () => {
    const KICK = 'Kits/808 Classic/kick.wav';
    const KICK_URL = 'Kits/808%20Classic/kick.wav';
    const SNARE = 'Kits/808 Classic/Snare #2.wav';
    const SNARE_URL = 'Kits/808%20Classic/Snare%20%232.wav';

    it('toggleFavorite sets the favourite optimistically and PUTs it per sound, encoding each path segment', () => {
      given([sample(KICK), sample(SNARE, { isFavorite: true })]);
      store.toggleFavorite([KICK]);
      expect(store.byPath().get(KICK)?.isFavorite).toBe(true);
      const req = http.expectOne(`/samplefavorite/update/${LIB_URL}/${KICK_URL}`);
      expect(req.request.method).toBe('PUT');
      expect(req.request.body).toEqual({ isFavorite: true });
      req.flush({ message: 'ok' });
      http.expectOne(`/recommendations/${LIB_URL}/explained`).flush([explained(SNARE)]);
      expect(store.recommendations().map((r) => r.name)).toEqual([SNARE]);
    });

    it('toggleFavorite unsets when all are favourites, sets all otherwise', () => {
      given([sample(KICK, { isFavorite: true }), sample(SNARE, { isFavorite: true }), sample('c.wav')]);
      store.toggleFavorite([KICK, SNARE]);
      const off = http.match((req) => req.url.startsWith('/samplefavorite/update/'));
      expect(off.map((r) => [r.request.url, r.request.body])).toEqual([
        [`/samplefavorite/update/${LIB_URL}/${KICK_URL}`, { isFavorite: false }],
        [`/samplefavorite/update/${LIB_URL}/${SNARE_URL}`, { isFavorite: false }],
      ]);
      off.forEach((r) => r.flush({ message: 'ok' }));
      http.expectOne(`/recommendations/${LIB_URL}/explained`).flush([]);

      store.toggleFavorite([KICK, 'c.wav']);
      const on = http.match((req) => req.url.startsWith('/samplefavorite/update/'));
      expect(on.map((r) => r.request.body)).toEqual([{ isFavorite: true }, { isFavorite: true }]);
      on.forEach((r) => r.flush({ message: 'ok' }));
      http.expectOne(`/recommendations/${LIB_URL}/explained`).flush([]);
      expect(store.favoriteCount()).toBe(2);
    });

    it('toggleFavorite reports a failure per sound', () => {
      given([sample(KICK)]);
      store.toggleFavorite([KICK]);
      http.expectOne(`/samplefavorite/update/${LIB_URL}/${KICK_URL}`).flush({ message: 'nope' }, { status: 404, statusText: 'Not Found' });
      expect(notifyError).toHaveBeenCalledWith(expect.anything(), `Could not change the favourite ${KICK}`);
      http.expectOne(`/recommendations/${LIB_URL}/explained`).flush([]);
    });

    it('addTag POSTs the user tags plus the new one, reloads, and lists where the tag spread (new first)', () => {
      const snareBefore = sample(SNARE, { class: 'Snare', tags: [['Snare', 'auto', '0.8'], ['punchy', 'propagated', '0.900']] });
      given([
        sample(KICK, { tags: [['Kick', 'auto', '0.9'], ['dark', 'user', '1.0']] }),
        snareBefore,
        sample('Loops/a b.wav', { class: 'Drumloop' }),
      ]);
      store.addTag([KICK], ' punchy ');

      const post = http.expectOne(`/usertags/${LIB_URL}`);
      expect(post.request.method).toBe('POST');
      expect(post.request.body).toEqual([{ name: KICK, customTags: ['dark', 'punchy'] }]);
      post.flush({ [KICK]: ['dark', 'punchy'] });

      const after = [
        sample(KICK, { tags: [['Kick', 'auto', '0.9'], ['dark', 'user', '1.0'], ['punchy', 'user', '1.0']] }),
        snareBefore,
        sample('Loops/a b.wav', { tags: [['Drumloop', 'auto', '0.9'], ['punchy', 'propagated', '0.600'], ['dark', 'propagated', '0.7']] }),
      ];
      http.expectOne(isSearch(0)).flush(result(after));

      expect(store.rows().find((r) => r.path === KICK)?.userTags).toEqual(['dark', 'punchy']);
      expect(store.spread()).toEqual([
        { path: 'Loops/a b.wav', tag: 'punchy', confidence: 0.6 },
        { path: SNARE, tag: 'punchy', confidence: 0.9 },
      ]);
    });

    it('addTag ignores blank names and no targets', () => {
      given([sample(KICK)]);
      store.addTag([KICK], '   ');
      store.addTag([], 'x');
      http.expectNone(`/usertags/${LIB_URL}`);
    });

    it('rejectSuggestion PUTs the tags without the rejected one, keeping the auto tag as listed', () => {
      const tags = [['Snare', 'auto', '0.910'], ['punchy', 'propagated', '0.600'], ['dark', 'user', '1.0'], ['warm', 'propagated', '0.5']];
      given([sample(SNARE, { class: 'Snare', tags })]);
      store.spread.set([{ path: SNARE, tag: 'punchy', confidence: 0.6 }, { path: SNARE, tag: 'warm', confidence: 0.5 }]);

      store.rejectSuggestion({ path: SNARE, tag: 'punchy', confidence: 0.6 });
      expect(store.spread()).toEqual([{ path: SNARE, tag: 'warm', confidence: 0.5 }]);

      const put = http.expectOne(`/sampletag/update/${LIB_URL}/${SNARE_URL}`);
      expect(put.request.method).toBe('PUT');
      expect(put.request.body).toEqual({ tags: [['Snare', 'auto', '0.910'], 'dark', ['warm', 'propagated', '0.5']] });
      put.flush({ message: 'ok' });
      answerReload([sample(SNARE, { class: 'Snare', tags: tags.filter((t) => t[0] !== 'punchy') })]);
      expect(store.rows()[0].propagated).toEqual([{ name: 'warm', confidence: 0.5 }]);
    });

    it('acceptSuggestion makes the propagated tag a user tag', () => {
      given([sample(SNARE, { class: 'Snare', tags: [['Snare', 'auto', '0.910'], ['punchy', 'propagated', '0.600']] })]);
      store.spread.set([{ path: SNARE, tag: 'punchy', confidence: 0.6 }]);
      store.acceptSuggestion({ path: SNARE, tag: 'punchy', confidence: 0.6 });
      expect(store.spread()).toBeNull(); // the last suggestion reviewed closes the review
      const put = http.expectOne(`/sampletag/update/${LIB_URL}/${SNARE_URL}`);
      expect(put.request.body).toEqual({ tags: [['Snare', 'auto', '0.910'], 'punchy'] });
      put.flush({ message: 'ok' });
      answerReload([]);
    });

    it('correctClass records a correction through /sampleclass/update, then reads suggestions', () => {
      given([sample(KICK, { tags: [['Kick', 'auto', '0.930'], ['dark', 'user', '1.0']] })]);
      store.correctClass([KICK], 'Snare');
      const put = http.expectOne(`/sampleclass/update/${LIB_URL}/${KICK_URL}`);
      expect(put.request.method).toBe('PUT');
      expect(put.request.body).toEqual({ class: 'Snare' });
      put.flush({ message: 'ok' });
      expect(http.match(`/suggestions/${LIB_URL}`)).toHaveLength(1);

      // the server lists the user's class first, as a user tag, and says it is a correction
      answerReload([
        sample(KICK, { class: 'Snare', likelihood: 1, corrected: true, modelClass: 'Kick', tags: [['Snare', 'user', '1.000'], ['dark', 'user', '1.0']] }),
      ]);
      const row: Row = store.rows()[0];
      expect(row.shownClass).toBe('Snare');
      expect(row.corrected).toBe(true);
      expect(row.userTags).toEqual(['dark']);
    });

    it('in a large library, a correction reads only that sound again, class, sub-class and tempo included', () => {
      const many = Array.from({ length: 3001 }, (_, i) => sample(`Kits/k${String(i).padStart(4, '0')}.wav`));
      given([sample(KICK, { tags: [['Kick', 'auto', '0.930']], subclass: 'kick' }), ...many]);
      store.correctClass([KICK], 'Snare');
      http.expectOne(`/sampleclass/update/${LIB_URL}/${KICK_URL}`).flush({ message: 'ok' });
      const details = http.expectOne(`/sample/${LIB_URL}/${KICK_URL}`);
      details.flush({
        name: KICK, isFavorite: true, tags: [['Snare', 'user', '1.000']], rejectedTags: [], analysed: true, analysisError: null,
        likelihoods: null, nonDrum: null, format: 'WAV', duration: 0.5, samplerate: 44100, channels: 1, size: 1, contentHash: 'x',
        subclass: null, userClass: 'Snare', modelClass: 'Kick', modelLikelihood: 0.93, correctedAt: '2026-12-07T00:00:00Z',
        bpm: null, bpmSource: null,
      });
      expect(http.match((req) => req.url.startsWith('/search/'))).toEqual([]); // no reload of 3 002 rows
      const row = store.rows().find((r) => r.path === KICK)!;
      expect([row.shownClass, row.corrected, row.modelClass, row.subclass, row.isFavorite]).toEqual(['Snare', true, 'Kick', null, true]);
      expect(row.userTags).toEqual([]);
    });

    it('correctClass with null goes back to the class of the tagger', () => {
      given([sample(KICK, { class: 'Snare', corrected: true, tags: [['Snare', 'user', '1.000']] })]);
      store.correctClass([KICK], null);
      const put = http.expectOne(`/sampleclass/update/${LIB_URL}/${KICK_URL}`);
      expect(put.request.body).toEqual({ class: null });
      put.flush({ message: 'ok' });
      answerReload([]);
    });

    it('reviewClasses accepts or rejects suggestions, then reads them again', () => {
      given([sample(KICK), sample(SNARE)]);
      store.classSuggestions.set([
        { name: KICK, suggestedClass: 'Tom', confidence: 0.9, currentClass: 'Kick' },
        { name: SNARE, suggestedClass: 'Tom', confidence: 0.85, currentClass: 'Kick' },
      ]);
      store.reviewClasses('reject', [SNARE]);
      expect(store.classSuggestions().map((s) => s.name)).toEqual([KICK]);
      const reject = http.expectOne(`/suggestions/${LIB_URL}/reject`);
      expect(reject.request.body).toEqual({ names: [SNARE] });
      reject.flush({ message: 'ok', names: [SNARE] });
      http.expectOne(`/suggestions/${LIB_URL}`).flush({ libname: LIB, suggestions: [] });
      store.reviewClasses('accept', 'all');
      const accept = http.expectOne(`/suggestions/${LIB_URL}/accept`);
      expect(accept.request.body).toEqual({ all: true });
      accept.flush({ message: 'ok', names: [KICK] });
      answerReload([]);
    });

    it('removeTag PUTs the other tags', () => {
      given([sample(KICK, { tags: [['Kick', 'auto', '0.9'], ['dark', 'user', '1.0'], ['lofi', 'user', '1.0']] })]);
      store.removeTag(KICK, 'dark');
      const put = http.expectOne(`/sampletag/update/${LIB_URL}/${KICK_URL}`);
      expect(put.request.body).toEqual({ tags: [['Kick', 'auto', '0.9'], 'lofi'] });
      put.flush({ message: 'ok' });
      answerReload([]);
    });

    it('remove DELETEs each sound and drops it from rows and selection', () => {
      given([sample(KICK), sample(SNARE), sample('c.wav')]);
      store.select(KICK);
      store.select(SNARE, 'toggle');
      store.remove([KICK, SNARE]);
      const deletes: TestRequest[] = http.match((req) => req.method === 'DELETE');
      expect(deletes.map((r) => r.request.url)).toEqual([`/sample/${LIB_URL}/${KICK_URL}`, `/sample/${LIB_URL}/${SNARE_URL}`]);
      deletes.forEach((r) => r.flush({ message: 'deleted' }));
      expect(store.rows().map((r) => r.path)).toEqual(['c.wav']);
      expect(store.selection().size).toBe(0);
      expect(store.active()).toBeNull();
      http.expectOne(`/recommendations/${LIB_URL}/explained`).flush([]);
    });

    it('open reads the library reach; a preview and its cancel leave it; applying another makes it the library one', () => {
      store.open(LIB);
      const current = http.expectOne((req) => req.url === `/usertags/${LIB_URL}/preview` && !req.params.has('reach'));
      current.flush({ reach: 0.5, current: 0.5, minConfidence: 0.75, added: [], removed: [], kept: 3 });
      expect(store.libraryReach()).toBe('balanced');
      expect(store.reach()).toBe('balanced');
      store.previewReach('wide');
      const wide = http.expectOne((req) => req.url === `/usertags/${LIB_URL}/preview` && req.params.get('reach') === 'wide');
      wide.flush({ reach: 1, current: 0.5, minConfidence: 0.5, added: [{ name: KICK, tag: 'dark', confidence: 0.6 }], removed: [], kept: 3 });
      expect(store.reach()).toBe('wide');
      store.cancelReach();
      expect(store.reach()).toBe('balanced');
      expect(store.reachPreview()).toBeNull();
      store.previewReach('wide');
      http.expectOne((req) => req.params.get('reach') === 'wide')
        .flush({ reach: 1, current: 0.5, minConfidence: 0.5, added: [{ name: KICK, tag: 'dark', confidence: 0.6 }], removed: [], kept: 3 });
      store.applyReach();
      const apply = http.expectOne(`/usertags/${LIB_URL}/reach`);
      expect(apply.request.body).toEqual({ reach: 'wide' });
      apply.flush({ reach: 1, current: 1, minConfidence: 0.5, added: [{ name: KICK, tag: 'dark', confidence: 0.6 }], removed: [], kept: 3 });
      expect(store.libraryReach()).toBe('wide');
      http.match(() => true); // the open's and the spread's reloads: other tests cover them
    });

    it('removed drops sounds the server deleted already, without a request of its own', () => {
      given([sample(KICK), sample(SNARE), sample('c.wav')]);
      store.select(SNARE);
      store.removed([SNARE]);
      expect(http.match((req) => req.method === 'DELETE')).toEqual([]);
      expect(store.rows().map((r) => r.path)).toEqual([KICK, 'c.wav']);
      expect(store.selection().size).toBe(0);
      http.expectOne(`/recommendations/${LIB_URL}/explained`).flush([]);
    });
  });
});
