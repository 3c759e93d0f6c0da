import { HttpClient } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable } from 'rxjs';

import { DuplicateGroups, ResolvedDuplicates, libUrl } from '../../core/api/types';

/** The duplicates resource: groups of sounds that are the same recording under other names, and keeping one. */
@Injectable({ providedIn: 'root' })
export class DuplicatesService {
  private readonly http = inject(HttpClient);

  groups(lib: string): Observable<DuplicateGroups> {
    return this.http.get<DuplicateGroups>(libUrl('duplicates', lib));
  }

  /** Keep `keep` and delete `remove` (its duplicates), in one transaction on the server. */
  resolve(lib: string, keep: string, remove: string[]): Observable<ResolvedDuplicates> {
    return this.http.post<ResolvedDuplicates>(`${libUrl('duplicates', lib)}/resolve`, { keep, remove });
  }
}
