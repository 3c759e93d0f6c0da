import { SearchKey, THESAURUS, fold, isEmptyQuery, parseQuery, queryMatches, termMatches } from './query';

function key(path: string, ...tags: string[]): SearchKey {
  return { path: fold(path), tags: tags.map(fold) };
}

describe('fold', () => {
  it('lower-cases and drops accents', () => {
    expect(fold('Kíck')).toBe('kick');
    expect(fold('ÉCHO Caisse Clairé')).toBe('echo caisse claire');
    expect(fold('Ｋｉｃｋ')).toBe('kick'); // full-width forms decompose (NFKD)
  });
});

describe('parseQuery', () => {
  it('splits words', () => {
    expect(parseQuery('kick  snare\thard')).toEqual({ include: ['kick', 'snare', 'hard'], exclude: [] });
  });

  it('keeps "quoted phrases" together', () => {
    expect(parseQuery('"snare roll" kick')).toEqual({ include: ['snare roll', 'kick'], exclude: [] });
  });

  it('accepts a phrase whose closing quote is still missing', () => {
    expect(parseQuery('kick "open ha')).toEqual({ include: ['kick', 'open ha'], exclude: [] });
  });

  it('excludes -words and -"quoted phrases"', () => {
    expect(parseQuery('kick -808 -"open hat"')).toEqual({ include: ['kick'], exclude: ['808', 'open hat'] });
  });

  it('keeps a hyphen inside a word', () => {
    expect(parseQuery('lo-fi')).toEqual({ include: ['lo-fi'], exclude: [] });
  });

  it('is empty for an empty or blank query and for empty quotes', () => {
    for (const text of ['', '   ', '\t\n', '""', '-""', '"  "']) {
      const query = parseQuery(text);
      expect(query, JSON.stringify(text)).toEqual({ include: [], exclude: [] });
      expect(isEmptyQuery(query)).toBe(true);
    }
    expect(isEmptyQuery(parseQuery('kick'))).toBe(false);
    expect(isEmptyQuery(parseQuery('-kick'))).toBe(false);
  });

  it('folds case and accents', () => {
    expect(parseQuery('Kíck -"Caisse Clairé"')).toEqual({ include: ['kick'], exclude: ['caisse claire'] });
  });
});

describe('termMatches', () => {
  const kick = key('Kits/808 Classic/Kick Hard.wav', 'Kick', 'punchy');

  it('matches any part of the path', () => {
    expect(termMatches('808 cl', kick)).toBe(true);
    expect(termMatches('hard.w', kick)).toBe(true);
    expect(termMatches('kits/', kick)).toBe(true);
    expect(termMatches('909', kick)).toBe(false);
  });

  it('matches the beginning of a tag name, not its middle', () => {
    const snare = key('one/a.wav', 'Snare', 'Rimshot');
    expect(termMatches('sna', snare)).toBe(true);
    expect(termMatches('rim', snare)).toBe(true);
    expect(termMatches('nare', snare)).toBe(false);
    expect(termMatches('shot', snare)).toBe(false);
  });

  it('understands producer shorthand through the thesaurus', () => {
    expect(THESAURUS['bd']).toBe('kick');
    expect(termMatches('bd', kick)).toBe(true);
    expect(termMatches('hh', key('x/y.wav', 'Cymbal'))).toBe(true);
    expect(termMatches('hat', key('x/y.wav', 'Cymbal'))).toBe(true);
    expect(termMatches('sd', key('x/y.wav', 'Snare'))).toBe(true);
    expect(termMatches('loop', key('x/y.wav', 'Drumloop'))).toBe(true);
    expect(termMatches('hh', kick)).toBe(false);
    expect(termMatches('bd', key('x/y.wav', 'Snare'))).toBe(false);
  });

  it('matches shorthand in paths literally too', () => {
    expect(termMatches('bd', key('808/BD_01.wav'))).toBe(true);
  });
});

describe('queryMatches', () => {
  const keys: Record<string, SearchKey> = {
    classic: key('Kits/808 Classic/kick.wav', 'Kick'),
    hard: key('One Shots/Kick Hard.wav', 'Kick'),
    tagged808: key('Misc/thump.wav', 'Kick', '808'),
    snare: key('Kits/808 Classic/snare.wav', 'Snare'),
    loop: key('Loops/funk 90.wav', 'Drumloop'),
    unanalysed: key('Inbox/new kick.wav'),
  };
  const matching = (text: string) => {
    const query = parseQuery(text);
    return Object.entries(keys)
      .filter(([, k]) => queryMatches(query, k))
      .map(([name]) => name);
  };

  it('kick -808: every word must match, excluded words by path or tag', () => {
    expect(matching('kick -808')).toEqual(['hard', 'unanalysed']);
  });

  it('all included terms must match', () => {
    expect(matching('808 kick')).toEqual(['classic', 'tagged808']);
    expect(matching('kits sna')).toEqual(['snare']);
  });

  it('an empty query matches everything', () => {
    expect(matching('')).toEqual(Object.keys(keys));
  });

  it('an exclusion alone keeps everything else', () => {
    expect(matching('-kits')).toEqual(['hard', 'tagged808', 'loop', 'unanalysed']);
  });

  it('shorthand, phrases and accents together', () => {
    expect(matching('BD -"one shots"')).toEqual(['classic', 'tagged808']);
    expect(matching('"Fünk 9"')).toEqual(['loop']);
  });
});
