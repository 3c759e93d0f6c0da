import { filesFromDrop, filesFromInput, isAudioName, readAllEntries } from './collect';

function file(name: string, relative?: string, size = 4): File {
  const result = new File([new Uint8Array(size)], name);
  if (relative !== undefined)
    Object.defineProperty(result, 'webkitRelativePath', { value: relative });
  return result;
}

function picked(...relative: string[]): File[] {
  return relative.map((path) => file(path.split('/').pop() ?? path, path));
}

function paths(collected: { items: { path: string }[] }): string[] {
  return collected.items.map((item) => item.path);
}

/** A fake FileSystemEntry tree: a string is a file, an object a folder. */
interface Tree {
  [name: string]: Tree | string;
}

let readCalls = 0;

function entry(name: string, node: Tree | string): FileSystemEntry {
  if (typeof node === 'string') {
    const fileEntry = {
      name,
      isFile: true,
      isDirectory: false,
      file: (resolve: (file: File) => void) => setTimeout(() => resolve(file(name))),
    };
    return fileEntry as unknown as FileSystemEntry;
  }
  const children = Object.entries(node).map(([child, sub]) => entry(child, sub));
  const dirEntry = {
    name,
    isFile: false,
    isDirectory: true,
    createReader: () => {
      let at = 0;
      return {
        // Like Chrome: at most 100 entries per call, then an empty batch.
        readEntries: (resolve: (entries: FileSystemEntry[]) => void) => {
          readCalls++;
          const batch = children.slice(at, at + 100);
          at += batch.length;
          setTimeout(() => resolve(batch));
        },
      };
    },
  };
  return dirEntry as unknown as FileSystemEntry;
}

function drop(tree: Tree, looseFiles: File[] = []): DataTransfer {
  const items = [
    ...Object.entries(tree).map(([name, node]) => ({
      kind: 'file',
      webkitGetAsEntry: () => entry(name, node),
      getAsFile: () => null,
    })),
    ...looseFiles.map((loose) => ({
      kind: 'file',
      webkitGetAsEntry: () => null,
      getAsFile: () => loose,
    })),
    { kind: 'string', webkitGetAsEntry: () => null, getAsFile: () => null },
  ];
  return { items, files: [] } as unknown as DataTransfer;
}

describe('isAudioName', () => {
  it('accepts the server’s extensions in any case', () => {
    for (const name of [
      'a.wav',
      'a.WAVE',
      'a.aif',
      'a.AIFF',
      'a.aifc',
      'a.flac',
      'a.ogg',
      'a.oga',
      'a.Mp3',
    ]) {
      expect(isAudioName(name)).toBe(true);
    }
    for (const name of ['a.txt', 'a.opus', 'wav', 'a.wav.zip', 'a.m4a'])
      expect(isAudioName(name)).toBe(false);
  });
});

describe('filesFromInput', () => {
  it('uses the file name for plain picks', () => {
    const result = filesFromInput([file('snare.wav'), file('kick.WAV')]);
    expect(paths(result)).toEqual(['kick.WAV', 'snare.wav']);
    expect(result.skipped).toBe(0);
    expect(result.items[0].file.name).toBe('kick.WAV');
  });

  it('strips the picked folder’s own name', () => {
    const result = filesFromInput(
      picked('MyKit/Kits/909/kick.wav', 'MyKit/snare.aif', 'MyKit/Loops/a b.flac'),
    );
    expect(paths(result)).toEqual(['Kits/909/kick.wav', 'Loops/a b.flac', 'snare.aif']);
  });

  it('keeps the first segment when the files do not share it', () => {
    const result = filesFromInput(picked('A/kick.wav', 'B/kick.wav'));
    expect(paths(result)).toEqual(['A/kick.wav', 'B/kick.wav']);
  });

  it('keeps relative paths when some files have none', () => {
    const result = filesFromInput([...picked('MyKit/Kits/kick.wav'), file('snare.wav')]);
    expect(paths(result)).toEqual(['MyKit/Kits/kick.wav', 'snare.wav']);
  });

  it('ignores hidden files and folders and counts other files as skipped', () => {
    const result = filesFromInput(
      picked(
        'MyKit/kick.wav',
        'MyKit/.DS_Store',
        'MyKit/._kick.wav',
        'MyKit/.git/objects/a.wav',
        'MyKit/readme.txt',
        'MyKit/Kits/cover.jpg',
        'MyKit/Kits/909/clap.ogg',
      ),
    );
    expect(paths(result)).toEqual(['Kits/909/clap.ogg', 'kick.wav']);
    expect(result.skipped).toBe(2);
  });

  it('allows a hidden picked folder (its name is stripped)', () => {
    expect(paths(filesFromInput(picked('.samples/kick.wav')))).toEqual(['kick.wav']);
  });

  it('normalises paths to NFC', () => {
    const nfd = 'Cafe\u0301/Be\u0301bé.wav'; // e + combining acute
    const result = filesFromInput(picked(`Kit/${nfd}`));
    expect(result.items[0].path).toBe('Caf\u00e9/B\u00e9b\u00e9.wav');
    expect(filesFromInput([file('Cafe\u0301.wav')]).items[0].path).toBe('Caf\u00e9.wav');
  });

  it('handles an empty pick', () => {
    expect(filesFromInput([])).toEqual({ items: [], skipped: 0 });
  });
});

describe('readAllEntries', () => {
  it('calls readEntries until it returns an empty batch', async () => {
    const tree: Tree = {};
    for (let i = 0; i < 250; i++) tree[`s${i}.wav`] = '';
    const dir = entry('Big', tree) as FileSystemDirectoryEntry;
    readCalls = 0;
    const all = await readAllEntries(dir.createReader());
    expect(all.length).toBe(250);
    expect(readCalls).toBe(4); // 100 + 100 + 50 + empty
  });
});

describe('filesFromDrop', () => {
  it('strips the name of a single dropped folder and walks it recursively', async () => {
    const big: Tree = {};
    for (let i = 0; i < 130; i++) big[`hat${String(i).padStart(3, '0')}.wav`] = '';
    const result = await filesFromDrop(
      drop({
        MyKit: {
          Kits: { '909': { 'kick.wav': '', 'notes.txt': '' }, Hats: big },
          'snare.aiff': '',
          '.hidden': { 'x.wav': '' },
          '.DS_Store': '',
        },
      }),
    );
    expect(result.items.length).toBe(132);
    expect(paths(result)).toContain('Kits/909/kick.wav');
    expect(paths(result)).toContain('Kits/Hats/hat129.wav');
    expect(paths(result)).toContain('snare.aiff');
    expect(result.skipped).toBe(1);
    expect(result.items.find((item) => item.path === 'snare.aiff')?.file.name).toBe('snare.aiff');
  });

  it('keeps top-level names when several items are dropped', async () => {
    const result = await filesFromDrop(
      drop({ MyKit: { Kits: { 'kick.wav': '' } }, 'snare.wav': '', 'a.pdf': '' }),
    );
    expect(paths(result)).toEqual(['MyKit/Kits/kick.wav', 'snare.wav']);
    expect(result.skipped).toBe(1);
  });

  it('takes a single dropped file under its name', async () => {
    expect(paths(await filesFromDrop(drop({ 'kick.wav': '' })))).toEqual(['kick.wav']);
  });

  it('skips hidden top-level items when several are dropped, and normalises to NFC', async () => {
    const result = await filesFromDrop(
      drop({ '.git': { 'a.wav': '' }, 'Cafe\u0301': { 'k.wav': '' } }),
    );
    expect(paths(result)).toEqual(['Caf\u00e9/k.wav']);
  });

  it('falls back to the files of items without the entry API, or to dataTransfer.files', async () => {
    const mixed = await filesFromDrop(drop({ Kit: { 'kick.wav': '' } }, [file('clap.wav')]));
    expect(paths(mixed)).toEqual(['Kit/kick.wav', 'clap.wav']);
    const legacy = {
      items: [],
      files: [file('b.wav'), file('a.mp3'), file('c.doc')],
    } as unknown as DataTransfer;
    const result = await filesFromDrop(legacy);
    expect(paths(result)).toEqual(['a.mp3', 'b.wav']);
    expect(result.skipped).toBe(1);
  });
});
