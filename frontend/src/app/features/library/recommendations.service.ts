import { HttpClient } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable } from 'rxjs';

import type { ExplainedRecommendations, NameList } from '../../core/api/types';
import { libUrl } from '../../core/api/types';

/** The recommendations resource: sounds like the library's favourites. */
@Injectable({ providedIn: 'root' })
export class RecommendationsService {
  private readonly http = inject(HttpClient);

  get(lib: string): Observable<NameList> {
    return this.http.get<NameList>(libUrl('recommendations', lib));
  }

  /** The same list with the favourite each one comes from, its distance, and whether the class is the same. */
  explained(lib: string): Observable<ExplainedRecommendations> {
    return this.http.get<ExplainedRecommendations>(`${libUrl('recommendations', lib)}/explained`);
  }
}
