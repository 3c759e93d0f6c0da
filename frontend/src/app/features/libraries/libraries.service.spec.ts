import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { provideZonelessChangeDetection } from '@angular/core';
import { TestBed } from '@angular/core/testing';

import { LibrariesService } from './libraries.service';

describe('LibrariesService', () => {
  let service: LibrariesService;
  let http: HttpTestingController;

  beforeEach(() => {
    TestBed.configureTestingModule({
      providers: [provideZonelessChangeDetection(), provideHttpClient(), provideHttpClientTesting()],
    });
    service = TestBed.inject(LibrariesService);
    http = TestBed.inject(HttpTestingController);
  });

  afterEach(() => http.verify());

  it('lists the libraries', () => {
    let names: string[] = [];
    service.list().subscribe((n) => (names = n));
    const req = http.expectOne('/get/libraries');
    expect(req.request.method).toBe('GET');
    req.flush(['Drums', 'My Kits']);
    expect(names).toEqual(['Drums', 'My Kits']);
  });

  it('counts sounds with a search that returns only the total', () => {
    let count = -1;
    service.count('My Kits #1').subscribe((c) => (count = c));
    const req = http.expectOne('/search/My%20Kits%20%231?limit=0');
    expect(req.request.method).toBe('GET');
    req.flush({ libname: 'My Kits #1', total: 1234, offset: 0, limit: 0, sort: 'path', samples: [] });
    expect(count).toBe(1234);
  });

  it('creates, renames and deletes with the name encoded', () => {
    service.create('Old School').subscribe();
    service.rename('Old School', 'New/School?').subscribe();
    service.remove('Old School').subscribe();

    const reqs = http.match((req) => req.url === '/library/Old%20School');
    expect(reqs.map((r) => r.request.method)).toEqual(['POST', 'PATCH', 'DELETE']);
    expect(reqs[0].request.body).toBeNull();
    expect(reqs[1].request.body).toEqual({ name: 'New/School?' });
    reqs.forEach((r) => r.flush({ message: 'ok' }));
  });
});
