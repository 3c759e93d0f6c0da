import { HttpClient } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable } from 'rxjs';

import type { TimbreMap } from '../../core/api/types';
import { libUrl } from '../../core/api/types';

/** The timbre map resource: the library's analysed sounds projected to 2-D. */
@Injectable({ providedIn: 'root' })
export class TimbreMapService {
  private readonly http = inject(HttpClient);

  get(lib: string): Observable<TimbreMap> {
    return this.http.get<TimbreMap>(libUrl('map', lib));
  }
}
