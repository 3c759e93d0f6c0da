import { HttpClient, HttpParams } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable } from 'rxjs';

import type { Message } from '../../core/api/types';
import { libUrl } from '../../core/api/types';

export interface ClassSuggestion {
  name: string;
  suggestedClass: string;
  confidence: number;
  currentClass: string | null;
}

/** The class corrections resource: set a sound's class, the suggestions the corrections spread, the CSV export. */
@Injectable({ providedIn: 'root' })
export class CorrectionsService {
  private readonly http = inject(HttpClient);

  /** Sets the sound's class (a correction); the tagger's own class or null removes the correction. */
  setClass(lib: string, path: string, cls: string | null): Observable<Message> {
    return this.http.put<Message>(libUrl('sampleclass/update', lib, path), { class: cls });
  }

  suggestions(lib: string): Observable<{ libname: string; suggestions: ClassSuggestion[] }> {
    return this.http.get<{ libname: string; suggestions: ClassSuggestion[] }>(libUrl('suggestions', lib));
  }

  accept(lib: string, names: string[] | 'all'): Observable<Message> {
    return this.http.post<Message>(`${libUrl('suggestions', lib)}/accept`, names === 'all' ? { all: true } : { names });
  }

  reject(lib: string, names: string[] | 'all'): Observable<Message> {
    return this.http.post<Message>(`${libUrl('suggestions', lib)}/reject`, names === 'all' ? { all: true } : { names });
  }

  /** The library's corrections as CSV (for retraining the tagger). */
  csv(lib: string): Observable<Blob> {
    return this.http.get(libUrl('corrections', lib), { params: new HttpParams().set('format', 'csv'), responseType: 'blob' });
  }
}
