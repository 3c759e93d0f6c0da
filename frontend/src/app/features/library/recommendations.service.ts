import { HttpClient } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable } from 'rxjs';

import type { NameList } from '../../core/api/types';
import { libUrl } from '../../core/api/types';

/** The recommendations resource: sounds like the library's favourites. */
@Injectable({ providedIn: 'root' })
export class RecommendationsService {
  private readonly http = inject(HttpClient);

  get(lib: string): Observable<NameList> {
    return this.http.get<NameList>(libUrl('recommendations', lib));
  }
}
