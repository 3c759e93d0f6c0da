import { HttpClient } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable } from 'rxjs';

import type { WaveformPeaks, WaveformThumbnails } from '../../core/api/types';
import { libUrl } from '../../core/api/types';

/** The waveforms resource: every sound's thumbnail, and one sound's detailed peaks. */
@Injectable({ providedIn: 'root' })
export class WaveformsService {
  private readonly http = inject(HttpClient);

  thumbnails(lib: string): Observable<WaveformThumbnails> {
    return this.http.get<WaveformThumbnails>(libUrl('waveforms', lib));
  }

  peaks(lib: string, path: string): Observable<WaveformPeaks> {
    return this.http.get<WaveformPeaks>(libUrl('waveform', lib, path));
  }
}

/** Decodes the API's peaks (base64 of int8 min, max pairs) into numbers in [-1, 1]. */
export function decodePeaks(base64: string): Float32Array {
  const bytes = atob(base64);
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes.charCodeAt(i);
    out[i] = (byte > 127 ? byte - 256 : byte) / 127;
  }
  return out;
}
