import { HttpClient } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable } from 'rxjs';

import { libUrl } from '../../core/api/types';

export interface DuplicateSound {
  name: string;
  duration: number;
  format: string;
  size: number;
  isFavorite: boolean;
}

export interface DuplicateGroup {
  samples: DuplicateSound[];
  similarity: number;
}

export interface DuplicateGroups {
  libname: string;
  groups: DuplicateGroup[];
}

/** The duplicates resource: groups of sounds that are the same recording under other names. */
@Injectable({ providedIn: 'root' })
export class DuplicatesService {
  private readonly http = inject(HttpClient);

  groups(lib: string): Observable<DuplicateGroups> {
    return this.http.get<DuplicateGroups>(libUrl('duplicates', lib));
  }
}
