import { describe, expect, it } from '@jest/globals';
import { renderDetails, renderTable, type Column } from './table';

const columns: Column<{ name: string; size: number }>[] = [
  { header: 'NAME', cell: (row) => row.name },
  { header: 'SIZE', cell: (row) => String(row.size) },
];

describe('renderTable', () => {
  it('pads every column to its widest cell, and the last not at all', () => {
    expect(renderTable(columns, [{ name: 'a-long-name', size: 1 }, { name: 'b', size: 1024 }])).toBe('NAME         SIZE\na-long-name  1\nb            1024\n');
  });

  it('prints the headers alone when there is nothing', () => {
    expect(renderTable(columns, [])).toBe('NAME  SIZE\n');
  });
});

describe('renderDetails', () => {
  it('aligns the values after the headers', () => {
    expect(renderDetails(columns, { name: 'x', size: 2 })).toBe('NAME: x\nSIZE: 2\n');
  });
});
