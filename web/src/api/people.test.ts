import { describe, expect, it } from 'vitest';
import { shiftDay, STAGES, transitionCount, transitionMatrix } from './people';

describe('transitionMatrix', () => {
  it('lays transitions out from-stage by to-stage with totals, zeros kept', () => {
    const m = transitionMatrix([
      { from: 'active', to: 'silent', persons: 4 },
      { from: '', to: 'new', persons: 9 },
      { from: 'silent', to: 'churned', persons: 2 },
      { from: 'churned', to: 'resurrected', persons: 1 },
    ]);
    expect(m.from).toEqual(['', ...STAGES]);
    expect(m.to).toEqual(STAGES);
    expect(m.cells.active!.silent).toBe(4);
    expect(m.cells['']!.new).toBe(9);
    expect(m.cells.new!.active).toBe(0);
    expect(m.rowTotals.silent).toBe(2);
    expect(m.colTotals.resurrected).toBe(1);
    expect(m.total).toBe(16);
  });

  it('keeps a stage it does not know as an extra row', () => {
    const m = transitionMatrix([{ from: 'dormant', to: 'active', persons: 3 }]);
    expect(m.from.at(-1)).toBe('dormant');
    expect(m.cells.dormant!.active).toBe(3);
  });
});

describe('helpers', () => {
  it('count one transition and shift days across months', () => {
    const list = [{ from: 'active', to: 'silent', persons: 4 }];
    expect(transitionCount(list, 'active', 'silent')).toBe(4);
    expect(transitionCount(list, 'churned', 'resurrected')).toBe(0);
    expect(shiftDay('2026-03-03', -6)).toBe('2026-02-25');
    expect(shiftDay('2026-12-31', 1)).toBe('2027-01-01');
  });
});
