import { HttpClient, HttpParams } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable, map } from 'rxjs';

import type { Message, SearchResult } from '../../core/api/types';
import { libUrl } from '../../core/api/types';

/** The libraries resource: list, count, create, rename, delete. */
@Injectable({ providedIn: 'root' })
export class LibrariesService {
  private readonly http = inject(HttpClient);

  list(): Observable<string[]> {
    return this.http.get<string[]>('/get/libraries');
  }

  /** How many sounds a library holds (a search that returns only its total). */
  count(name: string): Observable<number> {
    const params = new HttpParams().set('limit', 0);
    return this.http.get<SearchResult>(libUrl('search', name), { params }).pipe(map((result) => result.total));
  }

  create(name: string): Observable<Message> {
    return this.http.post<Message>(libUrl('library', name), null);
  }

  rename(name: string, newName: string): Observable<Message> {
    return this.http.patch<Message>(libUrl('library', name), { name: newName });
  }

  remove(name: string): Observable<Message> {
    return this.http.delete<Message>(libUrl('library', name));
  }
}
