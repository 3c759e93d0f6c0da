import { HttpClient } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable, map, switchMap, takeWhile, timer } from 'rxjs';

import type { AnalyzeStarted, Job } from '../../core/api/types';
import { libUrl } from '../../core/api/types';

/** The analysis jobs resource: start (or join) a library's analysis and follow its job. */
@Injectable({ providedIn: 'root' })
export class AnalysisService {
  private readonly http = inject(HttpClient);

  start(lib: string): Observable<AnalyzeStarted> {
    return this.http.get<AnalyzeStarted>(libUrl('analyze', lib));
  }

  job(id: string): Observable<Job> {
    return this.http.get<Job>(`/jobs/${encodeURIComponent(id)}`);
  }

  /** The job's state every `periodMs` until it is done or failed (the last state included). */
  follow(id: string, periodMs = 1000): Observable<Job> {
    return timer(0, periodMs).pipe(
      switchMap(() => this.job(id)),
      takeWhile((job) => job.state === 'queued' || job.state === 'running', true),
    );
  }

  /** Starts the analysis and follows it. */
  run(lib: string, periodMs = 1000): Observable<Job> {
    return this.start(lib).pipe(
      map((started) => started.job),
      switchMap((id) => this.follow(id, periodMs)),
    );
  }
}
