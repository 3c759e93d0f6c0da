import { HttpClient, HttpParams } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable } from 'rxjs';

import type { Message, Reach, Tag, TagReachChanges, UserTagsRequest, UserTagsResponse } from '../../core/api/types';
import { libUrl } from '../../core/api/types';

/** One entry of a tag update: a name (a user tag), or a listed tag kept as it is (auto or propagated). */
export type TagEntry = string | Tag;

/** The tags resource: set user tags (and spread them with the k-NN custom tagger), or one sound's exact tags. */
@Injectable({ providedIn: 'root' })
export class TagsService {
  private readonly http = inject(HttpClient);

  /** Sets the listed sounds' user tags and propagates every user tag of the library. */
  setUserTags(lib: string, entries: UserTagsRequest): Observable<UserTagsResponse> {
    return this.http.post<UserTagsResponse>(libUrl('usertags', lib), entries);
  }

  /** What spreading at `reach` (default: the library's own, `current`) would add and remove, compared with what is
   * stored; nothing is stored. */
  preview(lib: string, reach?: Reach): Observable<TagReachChanges> {
    const params = reach === undefined ? new HttpParams() : new HttpParams().set('reach', reach);
    return this.http.get<TagReachChanges>(`${libUrl('usertags', lib)}/preview`, { params });
  }

  /** Spreads the library's user tags at `reach` and stores the result; the library keeps that reach. */
  applyReach(lib: string, reach: Reach): Observable<TagReachChanges> {
    return this.http.post<TagReachChanges>(`${libUrl('usertags', lib)}/reach`, { reach });
  }

  /** Makes a sound's tags exactly `tags`: left-out custom tags are remembered as rejected, a left-out auto tag hidden. */
  update(lib: string, path: string, tags: TagEntry[]): Observable<Message> {
    return this.http.put<Message>(libUrl('sampletag/update', lib, path), { tags });
  }
}
