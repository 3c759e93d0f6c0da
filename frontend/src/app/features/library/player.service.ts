import { Injectable, inject, signal } from '@angular/core';
import { firstValueFrom } from 'rxjs';

import { errorMessage } from '../../core/http-error';
import { SamplesService } from './samples.service';

/** Bytes of decoded audio kept for instant starts (least recently used go first). */
const CACHE_BYTES = 192 * 1024 * 1024;
/** Fetches and decodes running at once. */
const PARALLEL_LOADS = 3;
/** Entries kept in the timing logs read by the e2e suite and bench/ui.py. */
const LOG_SIZE = 500;

interface TimingLog {
  audioStarts: { path: string; at: number }[];
  keyDowns: { key: string; at: number }[];
}

declare global {
  interface Window {
    drumsampler?: TimingLog;
  }
}

/** The timing logs on `window.drumsampler` (performance.now() time base). */
export function timingLog(): TimingLog {
  window.drumsampler ??= { audioStarts: [], keyDowns: [] };
  return window.drumsampler;
}

export function logTiming<K extends keyof TimingLog>(kind: K, entry: TimingLog[K][number]): void {
  const log = timingLog()[kind] as TimingLog[K][number][];
  log.push(entry);
  if (log.length > LOG_SIZE) log.splice(0, log.length - LOG_SIZE);
}

/**
 * Audition with Web Audio: sounds are decoded ahead of time (the selected row and its neighbours), so a start is
 * a buffer source's `start()`; a new sound cuts the previous one.
 */
@Injectable({ providedIn: 'root' })
export class PlayerService {
  private readonly samples = inject(SamplesService);
  private context: AudioContext | null = null;
  private readonly decoded = new Map<string, AudioBuffer>();
  private readonly pending = new Map<string, Promise<AudioBuffer>>();
  private readonly queue: { lib: string; path: string }[] = [];
  private loading = 0;
  private cachedBytes = 0;
  private source: AudioBufferSourceNode | null = null;
  private startedAt = 0;
  private offset = 0;
  private frame = 0;
  private wanted = '';

  readonly state = signal<'idle' | 'loading' | 'playing'>('idle');
  /** The sound playing (or last played): `lib\u0000path`. */
  readonly current = signal<string | null>(null);
  readonly position = signal(0);
  readonly duration = signal(0);
  readonly starts = signal(0);
  readonly error = signal<string | null>(null);

  /** Creates or resumes the AudioContext: call it from a click or key press (browsers start it suspended). */
  resume(): void {
    const context = this.audioContext();
    if (context.state === 'suspended') void context.resume();
  }

  /** Fetches and decodes these sounds in the background (at most a few at once). */
  preload(lib: string, paths: string[]): void {
    for (const path of paths) {
      const key = cacheKey(lib, path);
      if (this.decoded.has(key) || this.pending.has(key) || this.queue.some((q) => cacheKey(q.lib, q.path) === key)) continue;
      this.queue.push({ lib, path });
    }
    this.pump();
  }

  isReady(lib: string, path: string): boolean {
    return this.decoded.has(cacheKey(lib, path));
  }

  /** Plays a sound from `offsetSeconds`, cutting whatever plays; waits for its decoding when it is not ready. */
  async play(lib: string, path: string, offsetSeconds = 0): Promise<void> {
    const key = cacheKey(lib, path);
    this.wanted = key;
    this.resume();
    const ready = this.decoded.get(key);
    if (ready) {
      this.touch(key, ready);
      this.startBuffer(key, path, ready, offsetSeconds);
      return;
    }
    this.stopSource();
    this.state.set('loading');
    this.current.set(key);
    try {
      const buffer = await this.load(lib, path);
      if (this.wanted === key) this.startBuffer(key, path, buffer, offsetSeconds);
    } catch (error) {
      if (this.wanted === key) {
        this.state.set('idle');
        this.error.set(`Could not play ${path}: ${errorMessage(error)}`);
      }
    }
  }

  stop(): void {
    this.wanted = '';
    this.stopSource();
    this.state.set('idle');
  }

  /** Jumps to `fraction` (0..1) of the current sound, playing from there. */
  seek(lib: string, path: string, fraction: number): void {
    const buffer = this.decoded.get(cacheKey(lib, path));
    const seconds = buffer ? Math.max(0, Math.min(1, fraction)) * buffer.duration : 0;
    void this.play(lib, path, seconds);
  }

  /** Forgets a sound (deleted, or its content replaced). */
  forget(lib: string, path: string): void {
    const key = cacheKey(lib, path);
    const buffer = this.decoded.get(key);
    if (buffer) this.cachedBytes -= bufferBytes(buffer);
    this.decoded.delete(key);
  }

  private audioContext(): AudioContext {
    this.context ??= new AudioContext({ latencyHint: 'interactive' });
    return this.context;
  }

  private startBuffer(key: string, path: string, buffer: AudioBuffer, offsetSeconds: number): void {
    const context = this.audioContext();
    this.stopSource();
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(context.destination);
    source.onended = () => {
      if (this.source === source) {
        this.source = null;
        this.state.set('idle');
        this.position.set(buffer.duration);
        cancelAnimationFrame(this.frame);
      }
    };
    const offset = Math.min(offsetSeconds, Math.max(0, buffer.duration - 0.001));
    source.start(0, offset);
    logTiming('audioStarts', { path, at: performance.now() });
    this.source = source;
    this.offset = offset;
    this.startedAt = context.currentTime;
    this.current.set(key);
    this.duration.set(buffer.duration);
    this.position.set(offset);
    this.error.set(null);
    this.state.set('playing');
    this.starts.update((n) => n + 1);
    this.tick();
  }

  private tick(): void {
    cancelAnimationFrame(this.frame);
    const step = () => {
      if (!this.source || !this.context) return;
      this.position.set(Math.min(this.duration(), this.offset + this.context.currentTime - this.startedAt));
      this.frame = requestAnimationFrame(step);
    };
    this.frame = requestAnimationFrame(step);
  }

  private stopSource(): void {
    cancelAnimationFrame(this.frame);
    if (this.source) {
      const source = this.source;
      this.source = null;
      source.onended = null;
      try {
        source.stop();
      } catch {
        /* already stopped */
      }
      source.disconnect();
    }
  }

  private load(lib: string, path: string): Promise<AudioBuffer> {
    const key = cacheKey(lib, path);
    const known = this.decoded.get(key);
    if (known) return Promise.resolve(known);
    let promise = this.pending.get(key);
    if (!promise) {
      promise = firstValueFrom(this.samples.audio(lib, path))
        .then((bytes) => this.audioContext().decodeAudioData(bytes))
        .then((buffer) => {
          this.remember(key, buffer);
          return buffer;
        })
        .finally(() => this.pending.delete(key));
      this.pending.set(key, promise);
    }
    return promise;
  }

  private pump(): void {
    while (this.loading < PARALLEL_LOADS && this.queue.length) {
      const next = this.queue.shift()!;
      this.loading++;
      this.load(next.lib, next.path)
        .catch(() => undefined)
        .finally(() => {
          this.loading--;
          this.pump();
        });
    }
  }

  private remember(key: string, buffer: AudioBuffer): void {
    this.decoded.set(key, buffer);
    this.cachedBytes += bufferBytes(buffer);
    for (const [oldKey, old] of this.decoded) {
      if (this.cachedBytes <= CACHE_BYTES || oldKey === key) break;
      this.decoded.delete(oldKey);
      this.cachedBytes -= bufferBytes(old);
    }
  }

  private touch(key: string, buffer: AudioBuffer): void {
    this.decoded.delete(key);
    this.decoded.set(key, buffer);
  }
}

function cacheKey(lib: string, path: string): string {
  return `${lib}\u0000${path}`;
}

function bufferBytes(buffer: AudioBuffer): number {
  return buffer.length * buffer.numberOfChannels * 4;
}
