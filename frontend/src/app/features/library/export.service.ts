import { HttpClient } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable, map } from 'rxjs';

import type { AudioUrl } from '../../core/api/types';
import { libUrl } from '../../core/api/types';

/** What to put in the ZIP: everything, the favourites, one tag, or the named sounds. */
export interface ExportFilter {
  favorite?: boolean;
  tag?: string;
  names?: string[];
}

/** The export resource: a short-lived link to a ZIP of the library (one folder per tag), downloaded natively. */
@Injectable({ providedIn: 'root' })
export class ExportService {
  private readonly http = inject(HttpClient);

  link(lib: string, filter: ExportFilter): Observable<string> {
    return this.http.post<AudioUrl>(libUrl('export-url', lib), filter).pipe(map((answer) => answer.url));
  }
}

/** Starts a browser download of `url` (a same-origin link that carries its own token). */
export function download(url: string, fileName = ''): void {
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = fileName;
  anchor.rel = 'noopener';
  document.body.appendChild(anchor);
  anchor.click();
  anchor.remove();
}
