/** Names for the API's schemas, generated from backend/openapi.yaml into schema.d.ts (`npm run api:types`). */
import type { components } from './schema';

type Schemas = components['schemas'];
export type Tokens = Schemas['Tokens'];
export type AccessToken = Schemas['AccessToken'];
export type Message = Schemas['Message'];
export type Tag = Schemas['Tag'];
export type Job = Schemas['Job'];
export type AnalyzeStarted = Schemas['AnalyzeStarted'];
export type SearchSample = Schemas['SearchSample'];
export type SearchResult = Schemas['SearchResult'];
export type SampleDetails = Schemas['SampleDetails'];
export type Similar = Schemas['Similar'];
export type NameList = Schemas['NameList'];
export type ExplainedRecommendations = Schemas['ExplainedRecommendations'];
export type ExplainedRecommendation = ExplainedRecommendations[number];
export type TimbreMap = Schemas['TimbreMap'];
export type MapPoint = TimbreMap['points'][number];
export type AudioUrl = Schemas['AudioUrl'];
export type UploadResult = Schemas['UploadResult'];
export type FileOutcome = Schemas['FileOutcome'];
export type WaveformThumbnails = Schemas['WaveformThumbnails'];
export type WaveformPeaks = Schemas['WaveformPeaks'];
export type UserTagsRequest = Schemas['UserTagsRequest'];
export type UserTagsResponse = Schemas['UserTagsResponse'];
export type Health = Schemas['Health'];
export type TagReachChanges = Schemas['TagReachChanges'];
export type DuplicateGroups = Schemas['DuplicateGroups'];
export type DuplicateGroup = Schemas['DuplicateGroup'];
export type DuplicateSample = Schemas['DuplicateSample'];
export type ResolvedDuplicates = Schemas['ResolvedDuplicates'];
export type BpmSource = Schemas['BpmSource'];
export type Reach = 'strict' | 'balanced' | 'wide';

/** The tagger's classes, in the order the app shows them. */
export const CLASSES = ['Kick', 'Snare', 'Cymbal', 'Tom', 'Drumloop', 'Unknown'] as const;
export type DrumClass = (typeof CLASSES)[number];
export type Subclass = NonNullable<Schemas['Subclass']>;

/** How the app names the tagger's sub-classes (`closed_hat` → "closed hat"). */
export function subclassLabel(subclass: Subclass | null | undefined): string | null {
  return subclass ? subclass.replace('_', ' ') : null;
}

/** Whether a sub-class says more than its class (not for kick, tom, loop: one sub-class each). */
export function subclassAddsDetail(subclass: Subclass | null | undefined): boolean {
  return !!subclass && subclass !== 'kick' && subclass !== 'tom' && subclass !== 'loop';
}

/** One URL path segment per sample path segment, each percent-encoded (the API takes paths as the URL's rest). */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** `/route/<lib>/<sample path>` with both parts encoded. */
export function libUrl(route: string, lib: string, path?: string): string {
  const base = `/${route}/${encodeURIComponent(lib)}`;
  return path === undefined ? base : `${base}/${encodePath(path)}`;
}
