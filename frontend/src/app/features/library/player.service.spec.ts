import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, TestRequest, provideHttpClientTesting } from '@angular/common/http/testing';
import { provideZonelessChangeDetection } from '@angular/core';
import { TestBed } from '@angular/core/testing';

import { PlayerService } from './player.service';

/** A stand-in for the browser's AudioBufferSourceNode. */
interface FakeSource {
  buffer: AudioBuffer | null;
  onended: (() => void) | null;
  start: ReturnType<typeof vi.fn>;
  stop: ReturnType<typeof vi.fn>;
  connect: ReturnType<typeof vi.fn>;
  disconnect: ReturnType<typeof vi.fn>;
}

/** A minimal stand-in for the browser's AudioContext (jsdom has none). */
class FakeAudioContext {
  static instances: FakeAudioContext[] = [];
  state: AudioContextState = 'suspended';
  currentTime = 0;
  readonly destination = { kind: 'destination' };
  readonly sources: FakeSource[] = [];
  readonly decoded: ArrayBuffer[] = [];
  readonly resume = vi.fn(() => {
    this.state = 'running';
    return Promise.resolve();
  });

  constructor(readonly options?: AudioContextOptions) {
    FakeAudioContext.instances.push(this);
  }

  createBufferSource(): FakeSource {
    const source: FakeSource = {
      buffer: null,
      onended: null,
      start: vi.fn(),
      stop: vi.fn(),
      connect: vi.fn(),
      disconnect: vi.fn(),
    };
    this.sources.push(source);
    return source;
  }

  decodeAudioData(bytes: ArrayBuffer): Promise<AudioBuffer> {
    this.decoded.push(bytes);
    const duration = bytes.byteLength / 1000; // 1000 "bytes" per second of audio
    return Promise.resolve({ duration, length: Math.round(duration * 44100), numberOfChannels: 2, sampleRate: 44100 } as AudioBuffer);
  }
}

const LIB = 'My Drums';
const audioUrl = (path: string) => `/audio/My%20Drums/${path.split('/').map(encodeURIComponent).join('/')}`;
/** Lets fetched bytes pass through decoding and the queue's bookkeeping (promise callbacks). */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve));

describe('PlayerService', () => {
  let player: PlayerService;
  let http: HttpTestingController;
  const context = () => FakeAudioContext.instances[FakeAudioContext.instances.length - 1];
  const audioRequests = () => http.match((req) => req.url.startsWith('/audio/'));

  async function preloaded(...paths: string[]): Promise<void> {
    player.preload(LIB, paths);
    for (const path of paths) {
      http.expectOne(audioUrl(path)).flush(new ArrayBuffer(500));
      await settle();
    }
  }

  beforeEach(() => {
    FakeAudioContext.instances = [];
    vi.stubGlobal('AudioContext', FakeAudioContext);
    delete window.drumsampler;
    TestBed.configureTestingModule({
      providers: [provideZonelessChangeDetection(), provideHttpClient(), provideHttpClientTesting()],
    });
    http = TestBed.inject(HttpTestingController);
    player = TestBed.inject(PlayerService);
  });

  afterEach(() => {
    http.verify();
    vi.unstubAllGlobals();
  });

  it('preload fetches the audio as bytes, at most three at once', async () => {
    const paths = ['Kits/808 Classic/kick.wav', 'b.wav', 'c.wav', 'd.wav', 'e.wav'];
    player.preload(LIB, paths);

    let open: TestRequest[] = audioRequests();
    expect(open.map((r) => r.request.url)).toEqual(paths.slice(0, 3).map(audioUrl));
    expect(open[0].request.url).toBe('/audio/My%20Drums/Kits/808%20Classic/kick.wav');
    expect(open[0].request.method).toBe('GET');
    expect(open[0].request.responseType).toBe('arraybuffer');

    open[0].flush(new ArrayBuffer(100));
    await settle();
    const fourth = audioRequests();
    expect(fourth.map((r) => r.request.url)).toEqual([audioUrl('d.wav')]);
    expect(player.isReady(LIB, paths[0])).toBe(true);
    expect(player.isReady(LIB, 'b.wav')).toBe(false);

    // a failed fetch frees its place too
    open[1].flush(null, { status: 404, statusText: 'Not Found' });
    await settle();
    const fifth = audioRequests();
    expect(fifth.map((r) => r.request.url)).toEqual([audioUrl('e.wav')]);

    open = [open[2], ...fourth, ...fifth];
    open.forEach((r) => r.flush(new ArrayBuffer(100)));
    await settle();
    expect(['c.wav', 'd.wav', 'e.wav'].every((p) => player.isReady(LIB, p))).toBe(true);
    expect(context().decoded).toHaveLength(4);
  });

  it('preload skips sounds that are decoded, loading or queued', async () => {
    await preloaded('a.wav');
    player.preload(LIB, ['a.wav', 'b.wav', 'b.wav']);
    player.preload(LIB, ['b.wav']);
    expect(audioRequests().map((r) => r.request.url)).toEqual([audioUrl('b.wav')]);
  });

  it('plays a preloaded sound at once: start() is called before play() returns', async () => {
    await preloaded('Kits/808 Classic/kick.wav');
    expect(context().options).toEqual({ latencyHint: 'interactive' });

    const promise = player.play(LIB, 'Kits/808 Classic/kick.wav');
    const source = context().sources[0];
    expect(source.start).toHaveBeenCalledTimes(1);
    expect(source.start).toHaveBeenCalledWith(0, 0);
    expect(source.connect).toHaveBeenCalledWith(context().destination);
    expect(source.buffer?.duration).toBe(0.5);
    expect(player.state()).toBe('playing');
    expect(player.starts()).toBe(1);
    expect(player.duration()).toBe(0.5);
    expect(player.current()).toBe(`${LIB}\u0000Kits/808 Classic/kick.wav`);
    expect(window.drumsampler?.audioStarts.map((s) => s.path)).toEqual(['Kits/808 Classic/kick.wav']);
    expect(typeof window.drumsampler?.audioStarts[0].at).toBe('number');
    expect(context().resume).toHaveBeenCalled();
    await promise;
    http.expectNone(() => true);
  });

  it('a new play stops the previous sound', async () => {
    await preloaded('a.wav', 'b.wav');
    void player.play(LIB, 'a.wav');
    void player.play(LIB, 'b.wav');
    const [first, second] = context().sources;
    expect(first.stop).toHaveBeenCalled();
    expect(first.disconnect).toHaveBeenCalled();
    expect(first.onended).toBeNull();
    expect(second.start).toHaveBeenCalled();
    expect(second.stop).not.toHaveBeenCalled();
    expect(player.starts()).toBe(2);
    expect(window.drumsampler?.audioStarts.map((s) => s.path)).toEqual(['a.wav', 'b.wav']);
  });

  it('stop() stops the source and goes idle', async () => {
    await preloaded('a.wav');
    void player.play(LIB, 'a.wav');
    player.stop();
    expect(context().sources[0].stop).toHaveBeenCalled();
    expect(player.state()).toBe('idle');
  });

  it('goes idle when the sound ends by itself', async () => {
    await preloaded('a.wav');
    void player.play(LIB, 'a.wav');
    context().sources[0].onended?.();
    expect(player.state()).toBe('idle');
    expect(player.position()).toBe(0.5);
  });

  it('loads a sound that is not ready, then plays it', async () => {
    const promise = player.play(LIB, 'Kits/808 Classic/kick.wav');
    expect(player.state()).toBe('loading');
    expect(context().sources).toHaveLength(0);
    http.expectOne(audioUrl('Kits/808 Classic/kick.wav')).flush(new ArrayBuffer(2000));
    await promise;
    expect(context().sources[0].start).toHaveBeenCalledTimes(1);
    expect(player.state()).toBe('playing');
    expect(player.duration()).toBe(2);
    expect(player.starts()).toBe(1);
    expect(player.isReady(LIB, 'Kits/808 Classic/kick.wav')).toBe(true);
  });

  it('plays only the last wanted sound when an earlier one finishes loading later', async () => {
    await preloaded('b.wav');
    const slow = player.play(LIB, 'a.wav');
    void player.play(LIB, 'b.wav');
    http.expectOne(audioUrl('a.wav')).flush(new ArrayBuffer(100));
    await slow;
    expect(context().sources).toHaveLength(1);
    expect(context().sources[0].buffer?.duration).toBe(0.5);
    expect(player.starts()).toBe(1);
    expect(player.current()).toBe(`${LIB}\u0000b.wav`);
  });

  it('shares one fetch between a preload and a play of the same sound', async () => {
    player.preload(LIB, ['a.wav']);
    const promise = player.play(LIB, 'a.wav');
    http.expectOne(audioUrl('a.wav')).flush(new ArrayBuffer(100));
    await promise;
    expect(player.starts()).toBe(1);
  });

  it('seek plays from a fraction of the sound', async () => {
    await preloaded('a.wav');
    player.seek(LIB, 'a.wav', 0.5);
    expect(context().sources[0].start).toHaveBeenCalledWith(0, 0.25);
    expect(player.position()).toBe(0.25);
  });

  it('reports a sound that cannot be loaded and goes idle', async () => {
    const promise = player.play(LIB, 'missing.wav');
    http.expectOne(audioUrl('missing.wav')).flush(null, { status: 404, statusText: 'Not Found' });
    await promise;
    expect(player.state()).toBe('idle');
    expect(player.error()).toContain('Could not play missing.wav');
    expect(context().sources).toHaveLength(0);
  });

  it('forget drops a decoded sound', async () => {
    await preloaded('a.wav');
    player.forget(LIB, 'a.wav');
    expect(player.isReady(LIB, 'a.wav')).toBe(false);
  });
});
