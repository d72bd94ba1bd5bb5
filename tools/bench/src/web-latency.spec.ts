import { describe, expect, it } from '@jest/globals';
import { changeLatencies } from './web-latency';

describe('changeLatencies', () => {
  it('pairs each state the page showed with the first server stamp of that state', () => {
    const server = [
      { id: 'a', state: 'creating', at: 1000 },
      { id: 'a', state: 'creating', at: 1500 }, // a later update in the same state
      { id: 'a', state: 'running', at: 9000 },
      { id: 'b', state: 'running', at: 5000 },
    ];
    const page = [
      { id: 'a', state: 'pending', at: 900 }, // the page's own optimistic row: no server stamp
      { id: 'a', state: 'creating', at: 1040 },
      { id: 'a', state: 'running', at: 9100 },
      { id: 'a', state: 'running', at: 9300 },
      { id: 'b', state: 'running', at: 5012 },
    ];
    expect(changeLatencies(server, page)).toEqual([40, 100, 12]);
  });
});
