import { HttpErrorResponse } from '@angular/common/http';
import { Injectable, computed, inject, signal } from '@angular/core';
import { toObservable, toSignal } from '@angular/core/rxjs-interop';
import {
  Observable, Subscription, catchError, concatMap, debounceTime, forkJoin, from, map, mergeMap, of, range, startWith,
  switchMap, tap, toArray,
} from 'rxjs';

import type { ExplainedRecommendation, Job, Reach, SampleDetails, SearchSample, Similar, Tag, TagReachChanges } from '../../core/api/types';
import { errorMessage } from '../../core/http-error';
import { CLASSES, subclassAddsDetail, subclassLabel } from '../../core/api/types';
import { NotifyService } from '../../core/notify.service';
import { AnalysisService } from './analysis.service';
import { ClassSuggestion, CorrectionsService } from './corrections.service';
import { ParsedQuery, SearchKey, fold, isEmptyQuery, parseQuery, queryMatches } from './query';
import { RecommendationsService } from './recommendations.service';
import { PAGE_SIZE, SamplesService } from './samples.service';
import { TagEntry, TagsService } from './tags.service';
import { WaveformsService } from './waveforms.service';

/** A row of the table: the API's sample plus what the browser derives once (search key, class, custom tags). */
export interface Row extends SearchSample {
  key: SearchKey;
  /** The class shown: the tagger's, or the one the user set (a user tag named like a class). */
  shownClass: string | null;
  corrected: boolean;
  userTags: string[];
  propagated: { name: string; confidence: number }[];
  fileName: string;
  /** Loop tempo: the user's value when set, else the estimate (Drumloop sounds), else null. */
  tempo: number | null;
  tempoByUser: boolean;
  /** The tagger's sub-class as the app names it ("closed hat"), null when none is shown. */
  subclassName: string | null;
}

export type SortKey = 'path' | 'name' | 'class' | 'confidence' | 'duration' | 'added' | 'size' | 'favorite' | 'bpm';
export interface Sort {
  key: SortKey;
  descending: boolean;
}

export interface SpreadSuggestion {
  path: string;
  tag: string;
  confidence: number;
}

const CLASS_SET = new Set<string>(CLASSES);

/** An answer about one sound: its value, or the reason there is none (yet). */
export interface Loaded<T> {
  path: string | null;
  value: T | null;
  error: string | null;
}

export function emptyLoad<T>(path: string | null): Loaded<T> {
  return { path, value: null, error: null };
}

/** The request's answer for `path`, starting empty; a 409 means "not analysed yet", other errors in plain words. */
export function loadFor<T>(path: string, request: Observable<T>): Observable<Loaded<T>> {
  return request.pipe(
    map((value): Loaded<T> => ({ path, value, error: null })),
    catchError((error: unknown) =>
      of<Loaded<T>>({
        path,
        value: null,
        error: error instanceof HttpErrorResponse && error.status === 409 ? 'Not analysed yet.' : errorMessage(error),
      }),
    ),
    startWith<Loaded<T>>(emptyLoad<T>(path)),
  );
}

export function toRow(sample: SearchSample): Row {
  // a correction (the user's class) is listed first, as a user tag named like the class; the tagger's is `modelClass`
  const corrected = sample.corrected === true;
  const custom = corrected ? sample.tags.slice(1) : sample.tags;
  const userTags = custom.filter((t) => t[1] === 'user').map((t) => t[0]);
  const propagated = custom
    .filter((t) => t[1] === 'propagated')
    .map((t) => ({ name: t[0], confidence: Number(t[2]) }));
  // an older correction: the tagger's class hidden and the class given as a user tag
  const legacy = !corrected && sample.class === null ? userTags.find((t) => CLASS_SET.has(t)) ?? null : null;
  const shownClass = sample.class ?? legacy;
  const subclassName = subclassLabel(sample.subclass);
  return {
    ...sample,
    shownClass,
    corrected: corrected || legacy !== null,
    userTags: userTags.filter((t) => t !== legacy),
    propagated,
    fileName: sample.path.slice(sample.path.lastIndexOf('/') + 1),
    // a sub-class's words count as a tag name: typing "clap" or "open hat" finds them
    key: { path: fold(sample.path), tags: [...sample.tags.map((t) => fold(t[0])), ...(subclassAddsDetail(sample.subclass) && subclassName ? [subclassName] : [])] },
    tempo: sample.bpm ?? null,
    tempoByUser: sample.bpmSource === 'user',
    subclassName,
  };
}

/** The named reach of a number the server answers (strict 0.2, balanced 0.5, wide 1; another number: the nearest). */
export function reachName(value: number): Reach {
  const levels: [Reach, number][] = [['strict', 0.2], ['balanced', 0.5], ['wide', 1]];
  return levels.reduce((best, level) => (Math.abs(level[1] - value) < Math.abs(best[1] - value) ? level : best))[0];
}

function compareRows(a: Row, b: Row, key: SortKey, descending: boolean): number {
  const value = (row: Row): string | number | null => {
    switch (key) {
      case 'name': return row.fileName.toLowerCase();
      case 'class': return row.shownClass;
      case 'confidence': return row.likelihood;
      case 'duration': return row.duration;
      case 'added': return row.addedAt;
      case 'size': return row.size;
      case 'favorite': return row.isFavorite ? 0 : 1;
      case 'bpm': return row.tempo;
      default: return null;
    }
  };
  const va = value(a);
  const vb = value(b);
  if (va === vb) return 0;
  if (va === null) return 1; // no value: last, whichever the direction
  if (vb === null) return -1;
  return (va < vb ? -1 : 1) * (descending ? -1 : 1);
}

/**
 * The state of one open library, shared by the view's components: every row (loaded page by page), the filters
 * and sort, the selection, the analysis job, favourites' recommendations and the pending spread review.
 * Filtering runs in the browser on the loaded rows, so the table follows every keystroke.
 */
@Injectable()
export class LibraryStore {
  private readonly samples = inject(SamplesService);
  private readonly tagsApi = inject(TagsService);
  private readonly analysis = inject(AnalysisService);
  private readonly recommendationsApi = inject(RecommendationsService);
  private readonly waveforms = inject(WaveformsService);
  private readonly notify = inject(NotifyService);
  private readonly corrections = inject(CorrectionsService);
  private jobSub: Subscription | null = null;
  private loadSub: Subscription | null = null;
  private lastJobReload = 0;

  readonly lib = signal('');
  readonly rows = signal<Row[]>([]);
  readonly loading = signal(false);
  readonly loadedOnce = signal(false);
  readonly loadError = signal<string | null>(null);
  readonly thumbs = signal<ReadonlyMap<string, string | null>>(new Map());
  readonly job = signal<Job | null>(null);
  readonly recommendations = signal<ExplainedRecommendation[]>([]);
  readonly spread = signal<SpreadSuggestion[] | null>(null);
  /** How far tags spread (strict by default: few tags, nearly all right) and the preview of a wider reach. */
  readonly reach = signal<Reach>('strict');
  /** The library's own reach, which every propagation uses (the server remembers the last one applied). */
  readonly libraryReach = signal<Reach>('strict');
  readonly reachPreview = signal<TagReachChanges | null>(null);
  /** Classes suggested from the user's corrections of similar sounds, waiting for review. */
  readonly classSuggestions = signal<ClassSuggestion[]>([]);

  readonly query = signal('');
  readonly classFilter = signal<ReadonlySet<string>>(new Set());
  readonly favoritesOnly = signal(false);
  readonly tagFilter = signal<string | null>(null);
  readonly lasso = signal<ReadonlySet<string> | null>(null);
  readonly bpmMin = signal<number | null>(null);
  readonly bpmMax = signal<number | null>(null);
  readonly sort = signal<Sort>({ key: 'path', descending: false });

  readonly selection = signal<ReadonlySet<string>>(new Set());
  readonly active = signal<string | null>(null);
  readonly anchor = signal<string | null>(null);

  /** The active sound's true nearest neighbours (the detail panel lists them, the map highlights them). */
  readonly similar = toSignal(
    toObservable(this.active).pipe(
      debounceTime(120),
      switchMap((path) => (path === null ? of(emptyLoad<Similar>(null)) : loadFor(path, this.samples.similar(this.lib(), path)))),
    ),
    { initialValue: emptyLoad<Similar>(null) },
  );

  readonly parsedQuery = computed<ParsedQuery>(() => parseQuery(this.query()));
  readonly byPath = computed(() => new Map(this.rows().map((row) => [row.path, row])));

  /** Rows that pass every filter but the class chips (the chips' counts come from these). */
  private readonly matching = computed(() => {
    const query = this.parsedQuery();
    const favorites = this.favoritesOnly();
    const tag = this.tagFilter();
    const lasso = this.lasso();
    const bpmMin = this.bpmMin();
    const bpmMax = this.bpmMax();
    const bpmOn = bpmMin !== null || bpmMax !== null;
    const emptyQuery = isEmptyQuery(query);
    const foldedTag = tag === null ? null : fold(tag);
    return this.rows().filter(
      (row) =>
        (!favorites || row.isFavorite) &&
        (lasso === null || lasso.has(row.path)) &&
        (!bpmOn || (row.tempo !== null && row.tempo >= (bpmMin ?? 0) && row.tempo <= (bpmMax ?? Infinity))) &&
        (foldedTag === null || row.key.tags.includes(foldedTag)) &&
        (emptyQuery || queryMatches(query, row.key)),
    );
  });

  readonly classCounts = computed(() => {
    const counts = new Map<string, number>();
    for (const row of this.matching()) {
      const name = row.shownClass ?? 'Not analysed';
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    return counts;
  });

  /** The table: filtered and sorted. */
  readonly view = computed(() => {
    const classes = this.classFilter();
    const rows = classes.size ? this.matching().filter((row) => classes.has(row.shownClass ?? 'Not analysed')) : this.matching();
    const { key, descending } = this.sort();
    if (key === 'path') return descending ? [...rows].reverse() : rows;
    return [...rows].sort((a, b) => compareRows(a, b, key, descending) || (a.path < b.path ? -1 : 1));
  });

  readonly viewPaths = computed(() => new Set(this.view().map((row) => row.path)));
  readonly activeIndex = computed(() => {
    const active = this.active();
    return active === null ? -1 : this.view().findIndex((row) => row.path === active);
  });
  readonly activeRow = computed(() => {
    const active = this.active();
    return active === null ? null : this.byPath().get(active) ?? null;
  });
  /** The sounds an action applies to: the selection, or the active row alone. */
  readonly targets = computed(() => {
    const selection = this.selection();
    if (selection.size) return [...selection];
    const active = this.active();
    return active === null ? [] : [active];
  });
  readonly customTags = computed(() => {
    const names = new Set<string>();
    for (const row of this.rows()) {
      for (const tag of row.userTags) names.add(tag);
      for (const tag of row.propagated) names.add(tag.name);
    }
    return [...names].sort((a, b) => a.localeCompare(b));
  });
  readonly hasTempo = computed(() => this.rows().some((row) => row.tempo !== null));
  readonly favoriteCount = computed(() => this.rows().filter((row) => row.isFavorite).length);
  readonly filtersOn = computed(
    () =>
      !isEmptyQuery(this.parsedQuery()) || this.classFilter().size > 0 || this.favoritesOnly() ||
      this.tagFilter() !== null || this.lasso() !== null || this.bpmMin() !== null || this.bpmMax() !== null,
  );
  readonly analysing = computed(() => {
    const state = this.job()?.state;
    return state === 'queued' || state === 'running';
  });

  /** Opens a library: the first page shows at once, the rest follows; then thumbnails, analysis, recommendations. */
  open(lib: string): void {
    this.lib.set(lib);
    this.rows.set([]);
    this.selection.set(new Set());
    this.active.set(null);
    this.loadedOnce.set(false);
    this.reload();
    this.loadThumbnails();
    this.startAnalysis();
    this.loadRecommendations();
    this.loadSuggestions();
    this.loadReach();
  }

  /** Reads the library's reach (a preview without a reach: no changes, just `current`). */
  loadReach(): void {
    const lib = this.lib();
    this.reachPreview.set(null);
    this.tagsApi.preview(lib).subscribe({
      next: (answer) => {
        if (this.lib() !== lib) return;
        const reach = reachName(answer.current);
        this.libraryReach.set(reach);
        this.reach.set(reach);
      },
      error: () => undefined, // the default stays; the spread review still works
    });
  }

  loadSuggestions(): void {
    const lib = this.lib();
    this.corrections.suggestions(lib).subscribe({
      next: (answer) => {
        if (this.lib() === lib) this.classSuggestions.set(answer.suggestions);
      },
      error: () => this.classSuggestions.set([]),
    });
  }

  /** Accepts (the suggested class becomes the sound's) or rejects class suggestions: some, or all. */
  reviewClasses(action: 'accept' | 'reject', names: string[] | 'all'): void {
    const lib = this.lib();
    const drop = names === 'all' ? null : new Set(names);
    this.classSuggestions.update((list) => (drop === null ? [] : list.filter((s) => !drop.has(s.name))));
    const request = action === 'accept' ? this.corrections.accept(lib, names) : this.corrections.reject(lib, names);
    request.subscribe({
      next: () => {
        if (action === 'accept') this.reload();
        this.loadSuggestions();
      },
      error: (error: unknown) => {
        this.notify.error(error, `Could not ${action} the suggestion`);
        this.loadSuggestions();
      },
    });
  }

  /** Loads every row again (page by page, two pages at once). */
  reload(): void {
    const lib = this.lib();
    this.loading.set(true);
    this.loadError.set(null);
    this.loadSub?.unsubscribe(); // the newest read wins: an older answer never overwrites it
    this.loadSub = this.allSamples(lib, (first) => {
      if (this.lib() === lib && !this.loadedOnce()) this.rows.set(first.map(toRow)); // first rows at once
    }).subscribe({
        next: (samples) => {
          if (this.lib() !== lib) return;
          this.rows.set(samples.map(toRow));
          this.loadedOnce.set(true);
          this.loading.set(false);
          this.dropVanished();
        },
        error: (error: unknown) => {
          this.loading.set(false);
          this.loadError.set('Could not load the library');
          this.notify.error(error, 'Could not load the library');
        },
      });
  }

  /** Every sample of the library in path order, page by page (two pages at once); `first` sees the first page. */
  private allSamples(lib: string, first: (samples: SearchSample[]) => void = () => undefined): Observable<SearchSample[]> {
    return this.samples.page(lib, 0).pipe(
      mergeMap((answer) => {
        first(answer.samples);
        const pages = Math.ceil(answer.total / PAGE_SIZE);
        if (pages <= 1) return of(answer.samples);
        return range(1, pages - 1).pipe(
          mergeMap((page) => this.samples.page(lib, page * PAGE_SIZE).pipe(map((r) => [page, r.samples] as const)), 2),
          toArray(),
          map((rest) => [answer.samples, ...rest.sort((a, b) => a[0] - b[0]).map((entry) => entry[1])].flat()),
        );
      }),
    );
  }

  loadThumbnails(): void {
    const lib = this.lib();
    this.waveforms.thumbnails(lib).subscribe({
      next: (answer) => {
        if (this.lib() === lib) this.thumbs.set(new Map(answer.samples.map((s) => [s.name, s.thumb])));
      },
      error: () => undefined, // thumbnails are decoration: the rows work without them
    });
  }

  loadRecommendations(): void {
    const lib = this.lib();
    this.recommendationsApi.explained(lib).subscribe({
      next: (list) => {
        if (this.lib() === lib) this.recommendations.set(list);
      },
      error: () => this.recommendations.set([]),
    });
  }

  /** Starts (or joins) the analysis and follows it; rows are refreshed as results arrive. */
  startAnalysis(): void {
    const lib = this.lib();
    this.jobSub?.unsubscribe();
    this.jobSub = this.analysis.run(lib).subscribe({
      next: (job) => {
        if (this.lib() !== lib) return;
        const before = this.job();
        this.job.set(job);
        const finished = job.state === 'done' || job.state === 'failed';
        const progressed = before !== null && before.id === job.id && before.done !== job.done;
        const wasRunning = before !== null && (before.state === 'queued' || before.state === 'running');
        const now = Date.now();
        const every = this.rows().length > 2000 ? 10000 : 3000;
        if ((finished && wasRunning) || (progressed && now - this.lastJobReload > every)) {
          this.lastJobReload = now;
          this.reload();
          if (finished) {
            this.loadThumbnails();
            this.loadRecommendations();
          }
        }
      },
      error: (error: unknown) => this.notify.error(error, 'Could not start the analysis'),
    });
  }

  stop(): void {
    this.jobSub?.unsubscribe();
    this.jobSub = null;
    this.loadSub?.unsubscribe();
    this.loadSub = null;
  }

  // --- selection -------------------------------------------------------------------------------------------

  /** Click: `single` selects one row; `toggle` (Ctrl) adds or removes it; `range` (Shift) extends from the anchor. */
  select(path: string, mode: 'single' | 'toggle' | 'range' = 'single'): void {
    if (mode === 'toggle') {
      const next = new Set(this.selection());
      if (!next.size && this.active() !== null && this.active() !== path) next.add(this.active()!);
      if (next.has(path)) next.delete(path);
      else next.add(path);
      this.selection.set(next);
      this.anchor.set(path);
    } else if (mode === 'range') {
      const view = this.view();
      const from = view.findIndex((row) => row.path === (this.anchor() ?? this.active() ?? path));
      const to = view.findIndex((row) => row.path === path);
      const [lo, hi] = from < to ? [from, to] : [to, from];
      this.selection.set(new Set(view.slice(Math.max(lo, 0), hi + 1).map((row) => row.path)));
    } else {
      this.selection.set(new Set());
      this.anchor.set(path);
    }
    this.active.set(path);
  }

  selectAll(): void {
    this.selection.set(new Set(this.view().map((row) => row.path)));
  }

  clearFilters(): void {
    this.query.set('');
    this.classFilter.set(new Set());
    this.favoritesOnly.set(false);
    this.tagFilter.set(null);
    this.lasso.set(null);
    this.bpmMin.set(null);
    this.bpmMax.set(null);
  }

  toggleClass(name: string): void {
    const next = new Set(this.classFilter());
    if (next.has(name)) next.delete(name);
    else next.add(name);
    this.classFilter.set(next);
  }

  setSort(key: SortKey): void {
    const current = this.sort();
    this.sort.set({ key, descending: current.key === key ? !current.descending : false });
  }

  // --- edits -----------------------------------------------------------------------------------------------

  /** Sets or unsets favourite on the given sounds (all on, unless all are already on). */
  toggleFavorite(targets: string[]): void {
    const rows = targets.map((p) => this.byPath().get(p)).filter((r): r is Row => !!r);
    if (!rows.length) return;
    const value = !rows.every((row) => row.isFavorite);
    const paths = rows.map((row) => row.path);
    this.patchRows(paths, (row) => ({ ...row, isFavorite: value }));
    this.each(paths, (path) => this.samples.setFavorite(this.lib(), path, value), 'Could not change the favourite').subscribe((done) => {
      const failed = new Set(paths.filter((path) => !done.includes(path)));
      if (failed.size) this.patchRows([...failed], (row) => ({ ...row, isFavorite: !value }));
      this.loadRecommendations();
    });
  }

  /** Adds a user tag to the given sounds, then the library's tags spread; the review lists what that tag reached. */
  addTag(paths: string[], tag: string): void {
    const name = tag.trim();
    if (!name || !paths.length) return;
    const entries = paths
      .map((p) => this.byPath().get(p))
      .filter((r): r is Row => !!r)
      .map((row) => ({ name: row.path, customTags: [...new Set([...this.userTagsOf(row), name])] }));
    this.runSpread(this.tagsApi.setUserTags(this.lib(), entries), [name], 'Could not add the tag');
  }

  /** Spreads the library's user tags to similar sounds and opens the review of what they reached. */
  spreadTags(tags?: string[]): void {
    this.runSpread(this.tagsApi.setUserTags(this.lib(), []), tags ?? null, 'Could not spread the tags');
  }

  removeTag(path: string, tag: string): void {
    const row = this.byPath().get(path);
    if (!row) return;
    this.updateTags(row, this.tagEntries(row).filter((entry) => entryName(entry) !== tag), 'Could not remove the tag');
  }

  /** Accepts a spread suggestion: the propagated tag becomes the user's own. */
  acceptSuggestion(suggestion: SpreadSuggestion): void {
    const row = this.byPath().get(suggestion.path);
    this.dropSuggestions([suggestion]);
    if (!row) return;
    const entries = this.tagEntries(row).map((entry) => (entryName(entry) === suggestion.tag ? suggestion.tag : entry));
    this.updateTags(row, entries, 'Could not accept the tag');
  }

  /** Rejects a spread suggestion: the tag leaves that sound and is never spread to it again. */
  rejectSuggestion(suggestion: SpreadSuggestion): void {
    const row = this.byPath().get(suggestion.path);
    this.dropSuggestions([suggestion]);
    if (!row) return;
    this.updateTags(row, this.tagEntries(row).filter((entry) => entryName(entry) !== suggestion.tag), 'Could not reject the tag');
  }

  acceptAll(): void {
    for (const suggestion of this.spread() ?? []) this.acceptSuggestion(suggestion);
  }

  rejectAll(): void {
    for (const suggestion of this.spread() ?? []) this.rejectSuggestion(suggestion);
  }

  closeSpread(): void {
    this.spread.set(null);
    this.cancelReach();
  }

  /** Shows what spreading at another reach would add (or remove), before it is applied. */
  previewReach(reach: Reach): void {
    this.reach.set(reach);
    this.tagsApi.preview(this.lib(), reach).subscribe({
      next: (changes) => this.reachPreview.set(changes),
      error: (error: unknown) => this.notify.error(error, 'Could not preview the reach'),
    });
  }

  /** Spreads at the previewed reach; the review then lists what the tags reached. */
  applyReach(): void {
    const reach = this.reach();
    const tags = [...new Set((this.reachPreview()?.added ?? []).map((change) => change.tag))];
    this.reachPreview.set(null);
    const request = this.tagsApi.applyReach(this.lib(), reach).pipe(tap((answer) => this.libraryReach.set(reachName(answer.current))));
    this.runSpread(request, tags.length ? tags : null, 'Could not spread the tags');
  }

  /** Closes the preview of another reach: the library's stays. */
  cancelReach(): void {
    this.reachPreview.set(null);
    this.reach.set(this.libraryReach());
  }

  /** Sets the class of the given sounds (a correction, which teaches similar sounds); null: the tagger's class again. */
  correctClass(paths: string[], cls: string | null): void {
    const lib = this.lib();
    this.each(paths, (path) => this.corrections.setClass(lib, path, cls), 'Could not correct the class of').subscribe((done) => {
      this.refreshRows(done);
      this.loadSuggestions(); // corrections spread as suggestions to similar sounds
    });
  }

  /** Sets a loop's tempo (the user's value wins over the estimate); null goes back to the estimate. */
  setBpm(path: string, bpm: number | null): void {
    const lib = this.lib();
    this.samples.setBpm(lib, path, bpm).subscribe({
      next: () => this.refreshRows([path]),
      error: (error: unknown) => this.notify.error(error, `Could not set the tempo of ${path}`),
    });
  }

  remove(paths: string[]): void {
    const lib = this.lib();
    this.each(paths, (path) => this.samples.remove(lib, path), 'Could not delete').subscribe((done) => this.removed(done));
  }

  /** Drops sounds the server has deleted already (e.g. duplicates resolved in one request) from the table. */
  removed(paths: string[]): void {
    const gone = new Set(paths);
    this.rows.update((rows) => rows.filter((row) => !gone.has(row.path)));
    this.dropVanished();
    this.notify.info(`Deleted ${paths.length} ${paths.length === 1 ? 'sound' : 'sounds'}`);
    this.loadRecommendations();
  }

  // --- helpers ---------------------------------------------------------------------------------------------

  private userTagsOf(row: Row): string[] {
    return row.tags.filter((t) => t[1] === 'user').map((t) => t[0]);
  }

  /** The sound's tags as an update that keeps them all as they are. */
  private tagEntries(row: Row): TagEntry[] {
    return row.tags.map((tag): TagEntry => (tag[1] === 'user' ? tag[0] : (tag as Tag)));
  }

  private updateTags(row: Row, entries: TagEntry[], failure: string): void {
    const lib = this.lib();
    this.tagsApi.update(lib, row.path, entries).subscribe({
      next: () => this.refreshRows([row.path]),
      error: (error: unknown) => this.notify.error(error, `${failure} (${row.path})`),
    });
  }

  private runSpread(request: Observable<unknown>, tags: string[] | null, failure: string): void {
    const before = new Set(this.rows().flatMap((row) => row.propagated.map((p) => `${row.path}\u0000${p.name}`)));
    request.subscribe({
      next: () => {
        const lib = this.lib();
        this.allSamples(lib)
          .subscribe({
            next: (samples) => {
              const rows = samples.map(toRow);
              this.rows.set(rows);
              const wanted = tags === null ? null : new Set(tags);
              const suggestions = rows
                .flatMap((row) => row.propagated.map((p) => ({ path: row.path, tag: p.name, confidence: p.confidence })))
                .filter((s) => wanted === null || wanted.has(s.tag))
                .sort((a, b) => Number(before.has(`${a.path}\u0000${a.tag}`)) - Number(before.has(`${b.path}\u0000${b.tag}`)) || b.confidence - a.confidence);
              this.spread.set(suggestions);
            },
            error: (error: unknown) => this.notify.error(error, 'Could not reload the library'),
          });
      },
      error: (error: unknown) => this.notify.error(error, failure),
    });
  }

  /** Fetches these rows again (a handful), or everything (many). */
  refreshRows(paths: string[]): void {
    if (!paths.length) return;
    // a tag change may spread to other sounds: small libraries are simply read again
    if (paths.length > 20 || this.rows().length <= 3000) {
      this.reload();
      return;
    }
    const lib = this.lib();
    forkJoin(paths.map((path) => this.samples.details(lib, path).pipe(catchError(() => of(null))))).subscribe((details) => {
      const fresh = new Map<string, SampleDetails>();
      details.forEach((d, i) => d && fresh.set(paths[i], d));
      this.patchRows([...fresh.keys()], (row) => {
        const d = fresh.get(row.path)!;
        const shown = d.tags.find((t) => CLASS_SET.has(t[0]) && (t[1] === 'auto' || (t[1] === 'user' && t[0] === d.userClass)));
        return toRow({
          ...row,
          tags: d.tags,
          isFavorite: d.isFavorite,
          class: shown ? shown[0] : null,
          likelihood: shown ? Number(shown[2]) : null,
          corrected: d.userClass !== null,
          modelClass: d.modelClass,
          subclass: d.subclass,
          bpm: d.bpm,
          bpmSource: d.bpmSource,
        });
      });
    });
  }

  private patchRows(paths: string[], change: (row: Row) => Row): void {
    const set = new Set(paths);
    this.rows.update((rows) => rows.map((row) => (set.has(row.path) ? change(row) : row)));
  }

  private dropSuggestions(done: SpreadSuggestion[]): void {
    const keys = new Set(done.map((s) => `${s.path}\u0000${s.tag}`));
    // the review closes once every suggestion was accepted or rejected
    this.spread.update((list) => {
      const left = list ? list.filter((s) => !keys.has(`${s.path}\u0000${s.tag}`)) : list;
      return left && left.length === 0 && list!.length > 0 ? null : left;
    });
  }

  /** Runs one request per sound (four at once); reports failures; emits the paths that succeeded. */
  private each(paths: string[], request: (path: string) => Observable<unknown>, failure: string): Observable<string[]> {
    return from(paths).pipe(
      mergeMap(
        (path) =>
          request(path).pipe(
            map(() => path),
            catchError((error: unknown) => {
              this.notify.error(error, `${failure} ${path}`);
              return of(null);
            }),
          ),
        4,
      ),
      toArray(),
      map((done) => done.filter((p): p is string => p !== null)),
    );
  }

  /** Drops selection entries and the active row when their sounds are gone. */
  private dropVanished(): void {
    const paths = this.byPath();
    const selection = this.selection();
    if ([...selection].some((p) => !paths.has(p))) this.selection.set(new Set([...selection].filter((p) => paths.has(p))));
    const active = this.active();
    if (active !== null && !paths.has(active)) this.active.set(null);
  }
}

function entryName(entry: TagEntry): string {
  return typeof entry === 'string' ? entry : entry[0];
}
