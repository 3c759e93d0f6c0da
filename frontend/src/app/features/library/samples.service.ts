import { HttpClient, HttpParams } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable } from 'rxjs';

import type { AudioUrl, Message, SampleDetails, SearchResult, Similar } from '../../core/api/types';
import { libUrl } from '../../core/api/types';

export const PAGE_SIZE = 1000;

/** The samples resource: pages of a library, one sound's details, favourite, delete, audio, similar sounds. */
@Injectable({ providedIn: 'root' })
export class SamplesService {
  private readonly http = inject(HttpClient);

  page(lib: string, offset: number, limit = PAGE_SIZE): Observable<SearchResult> {
    const params = new HttpParams().set('offset', offset).set('limit', limit).set('sort', 'path');
    return this.http.get<SearchResult>(libUrl('search', lib), { params });
  }

  details(lib: string, path: string): Observable<SampleDetails> {
    return this.http.get<SampleDetails>(libUrl('sample', lib, path));
  }

  setFavorite(lib: string, path: string, isFavorite: boolean): Observable<Message> {
    return this.http.put<Message>(libUrl('samplefavorite/update', lib, path), { isFavorite });
  }

  /** The user's tempo for a sound (a loop), or null to go back to the estimate. */
  setBpm(lib: string, path: string, bpm: number | null): Observable<Message> {
    return this.http.put<Message>(libUrl('samplebpm/update', lib, path), { bpm });
  }

  remove(lib: string, path: string): Observable<Message> {
    return this.http.delete<Message>(libUrl('sample', lib, path));
  }

  /** The audio file's bytes (for decoding into the player). */
  audio(lib: string, path: string): Observable<ArrayBuffer> {
    return this.http.get(libUrl('audio', lib, path), { responseType: 'arraybuffer' });
  }

  /** A short-lived link to the audio that needs no header (drag-out, download). */
  audioUrl(lib: string, path: string): Observable<AudioUrl> {
    return this.http.get<AudioUrl>(libUrl('audio-url', lib, path));
  }

  similar(lib: string, path: string, n = 12): Observable<Similar> {
    return this.http.get<Similar>(libUrl('similar', lib, path), { params: new HttpParams().set('n', n) });
  }
}
