import { describe, expect, it } from 'vitest';
import { addLsn, compareLsn, formatLsn, maxLsn, parseLsn, ZERO_LSN } from '../../../src/pg/lsn.js';

describe('Lsn', () => {
  it('parses padded and unpadded forms to the same 64-bit value', () => {
    expect(parseLsn('0/1791E88')).toBe(parseLsn('00000000/01791E88'));
    expect(parseLsn('16/b374d848')).toBe((0x16n << 32n) | 0xb374d848n);
    expect(parseLsn('FFFFFFFF/FFFFFFFF')).toBe((1n << 64n) - 1n);
  });

  it('compares numerically where string comparison would be wrong', () => {
    // As strings '0/9' > '0/10' and '00000000/01791F58' < '0/1791E88'; as LSNs the opposite.
    expect(compareLsn(parseLsn('0/9'), parseLsn('0/10'))).toBe(-1);
    expect(compareLsn(parseLsn('00000000/01791F58'), parseLsn('0/1791E88'))).toBe(1);
    expect(compareLsn(parseLsn('1/0'), parseLsn('0/FFFFFFFF'))).toBe(1);
    expect(maxLsn(parseLsn('0/A'), parseLsn('0/B'))).toBe(parseLsn('0/B'));
  });

  it('formats the way PostgreSQL prints and round-trips', () => {
    expect(formatLsn(parseLsn('00000001/0000ABCD'))).toBe('1/ABCD');
    expect(formatLsn(ZERO_LSN)).toBe('0/0');
    expect(formatLsn(addLsn(parseLsn('0/FFFFFFFF'), 1))).toBe('1/0');
  });

  it('rejects what is not an LSN', () => {
    for (const bad of ['', '0', '0/', '/0', 'x/1', '0/123456789', '1/2/3'])
      expect(() => parseLsn(bad)).toThrow();
    expect(() => addLsn(parseLsn('FFFFFFFF/FFFFFFFF'), 1)).toThrow();
  });
});
