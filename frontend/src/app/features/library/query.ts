/**
 * The search box's language, applied in the browser so that the table follows every keystroke:
 * words and "quoted phrases" must all match, `-term` excludes; a term matches a sound when it is part of its
 * path or begins one of its tag names (its class included). Case and accents are ignored, and a few producer
 * abbreviations name classes (bd → kick, sd → snare, hh → cymbal). The server's /search speaks the same language,
 * less those abbreviations.
 */

export interface ParsedQuery {
  include: string[];
  exclude: string[];
}

/** Producer shorthand → the class or tag prefix it means. */
export const THESAURUS: Readonly<Record<string, string>> = {
  bd: 'kick',
  bassdrum: 'kick',
  sd: 'snare',
  hh: 'cymbal',
  hat: 'cymbal',
  hihat: 'cymbal',
  crash: 'cymbal',
  ride: 'cymbal',
  loop: 'drumloop',
  break: 'drumloop',
};

/** Lower case without accents: the form both sides of a comparison take. */
export function fold(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

export function parseQuery(text: string): ParsedQuery {
  const include: string[] = [];
  const exclude: string[] = [];
  const pattern = /(-?)(?:"([^"]*)"?|(\S+))/g;
  for (const match of text.matchAll(pattern)) {
    if (match[0] === '-') continue; // a minus being typed, before its term
    const negative = match[1] === '-';
    const term = fold((match[2] ?? match[3] ?? '').trim().split(/\s+/).join(' '));
    if (!term) continue;
    (negative ? exclude : include).push(term);
  }
  return { include, exclude };
}

/** What a sound is searched by: its folded path and folded tag names (class first). */
export interface SearchKey {
  path: string;
  tags: string[];
}

export function termMatches(term: string, key: SearchKey): boolean {
  if (key.path.includes(term)) return true;
  const alias = THESAURUS[term];
  return key.tags.some((tag) => tag.startsWith(term) || (alias !== undefined && tag.startsWith(alias)));
}

export function queryMatches(query: ParsedQuery, key: SearchKey): boolean {
  return query.include.every((term) => termMatches(term, key)) && !query.exclude.some((term) => termMatches(term, key));
}

export function isEmptyQuery(query: ParsedQuery): boolean {
  return query.include.length === 0 && query.exclude.length === 0;
}
