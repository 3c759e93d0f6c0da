/**
 * Turns what the user picked or dropped into upload items: each audio file with its path in the library
 * (`Kits/909/kick.wav`, `/`-separated, Unicode NFC), the rules of the server's own folder import.
 */

/** One file to upload and its sample path in the library. */
export interface UploadItem {
  readonly file: File;
  readonly path: string;
}

/** The audio files found, and how many other (non-hidden) files were left out because they are not audio. */
export interface Collected {
  readonly items: UploadItem[];
  readonly skipped: number;
}

/** The extensions the server takes (any case), as its `import` command. */
export const AUDIO_EXTENSIONS: readonly string[] = [
  '.wav',
  '.wave',
  '.aif',
  '.aiff',
  '.aifc',
  '.flac',
  '.ogg',
  '.oga',
  '.mp3',
];

const AUDIO = new Set(AUDIO_EXTENSIONS);

/** Whether a file name has one of the accepted audio extensions. */
export function isAudioName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot > 0 && AUDIO.has(name.slice(dot).toLowerCase());
}

/** A hidden file or folder (`.DS_Store`, `._kick.wav`, `.git`). */
export function isHidden(name: string): boolean {
  return name.startsWith('.');
}

type Kind = 'audio' | 'other' | 'hidden';

/** Hidden when any segment is hidden (ignored, not counted); otherwise audio or another file (counted as skipped). */
function classify(segments: readonly string[]): Kind {
  if (segments.some(isHidden)) return 'hidden';
  return isAudioName(segments[segments.length - 1] ?? '') ? 'audio' : 'other';
}

function toPath(segments: readonly string[]): string {
  return segments.map((segment) => segment.normalize('NFC')).join('/');
}

function byPath(a: UploadItem, b: UploadItem): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

function splitPath(path: string): string[] {
  return path.split('/').filter((segment) => segment.length > 0);
}

/**
 * Files from an `<input type="file">` (with or without `webkitdirectory`). A folder pick gives
 * `webkitRelativePath`s that start with the picked folder's own name: when every file has one and all share
 * that first segment, it is stripped, so picking `~/Samples/MyKit` gives `Kits/909/kick.wav`. Plain picks use
 * the file name. Hidden entries are ignored; other non-audio files are counted in `skipped`.
 */
export function filesFromInput(files: FileList | readonly File[]): Collected {
  const list = Array.from(files);
  const relative = list.map((file) => splitPath(file.webkitRelativePath || ''));
  const first = relative[0]?.[0];
  const strip =
    list.length > 0 && relative.every((segments) => segments.length > 1 && segments[0] === first);
  const items: UploadItem[] = [];
  let skipped = 0;
  list.forEach((file, i) => {
    const segments = relative[i].length
      ? strip
        ? relative[i].slice(1)
        : relative[i]
      : [file.name];
    const kind = classify(segments);
    if (kind === 'audio') items.push({ file, path: toPath(segments) });
    else if (kind === 'other') skipped++;
  });
  return { items: items.sort(byPath), skipped };
}

/** Every entry of a directory: `readEntries` gives at most ~100 per call, so call it until a call gives none. */
export async function readAllEntries(
  reader: FileSystemDirectoryReader,
): Promise<FileSystemEntry[]> {
  const all: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
      reader.readEntries(resolve, reject),
    );
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise<File>((resolve, reject) => entry.file(resolve, reject));
}

interface Walk {
  readonly items: UploadItem[];
  skipped: number;
}

async function walk(entry: FileSystemEntry, prefix: readonly string[], out: Walk): Promise<void> {
  const segments = [...prefix, entry.name];
  const kind = classify(segments);
  if (kind === 'hidden') return;
  if (entry.isDirectory) {
    await walkChildren(entry as FileSystemDirectoryEntry, segments, out);
  } else if (entry.isFile) {
    if (kind === 'other') {
      out.skipped++;
      return;
    }
    try {
      out.items.push({ file: await fileOf(entry as FileSystemFileEntry), path: toPath(segments) });
    } catch {
      out.skipped++; // unreadable (removed meanwhile, no permission): left out, and said so
    }
  }
}

async function walkChildren(
  dir: FileSystemDirectoryEntry,
  prefix: readonly string[],
  out: Walk,
): Promise<void> {
  const children = await readAllEntries(dir.createReader());
  await Promise.all(children.map((child) => walk(child, prefix, out)));
}

/**
 * Files from a drop, walking dropped folders recursively. One dropped folder is the import's root (its name is
 * stripped, as with the folder picker); several dropped items keep their names (`MyKit/Kits/kick.wav`,
 * `snare.wav`). Call it in the drop handler before any `await`: the items are only readable during the event.
 */
export async function filesFromDrop(dataTransfer: DataTransfer): Promise<Collected> {
  const entries: FileSystemEntry[] = [];
  const loose: File[] = [];
  const items = dataTransfer.items ? Array.from(dataTransfer.items) : [];
  for (const item of items) {
    if (item.kind !== 'file') continue;
    const entry = typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null;
    if (entry) {
      entries.push(entry);
    } else {
      const file = item.getAsFile();
      if (file) loose.push(file);
    }
  }
  if (items.length === 0) loose.push(...Array.from(dataTransfer.files ?? []));

  const out: Walk = { items: [], skipped: 0 };
  const single = entries.length === 1 && loose.length === 0 ? entries[0] : null;
  if (single?.isDirectory) {
    await walkChildren(single as FileSystemDirectoryEntry, [], out);
  } else {
    await Promise.all(entries.map((entry) => walk(entry, [], out)));
  }
  // Loose files (no entry API) are plain files at the root: their webkitRelativePath is empty on a drop.
  const fromFiles = filesFromInput(loose);
  return {
    items: [...out.items, ...fromFiles.items].sort(byPath),
    skipped: out.skipped + fromFiles.skipped,
  };
}
