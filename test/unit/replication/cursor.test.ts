import { describe, expect, it } from 'vitest';
import { parseLsn, type Lsn } from '../../../src/pg/lsn.js';
import { reaches, SyncCursor } from '../../../src/replication/cursor.js';

const L = (n: number) => BigInt(n) as Lsn;

describe('SyncCursor', () => {
  it('keepalives never move the applied position', () => {
    const c = new SyncCursor(L(100), undefined);
    c.keepalive(L(500));
    expect(c.applied).toBe(L(100));
    expect(c.confirmable).toBe(L(500)); // idle and all applied: the heartbeat rule allows it
  });

  it('ignores a keepalive while a transaction is open or received but not yet durable', () => {
    const c = new SyncCursor(L(100), undefined);
    expect(c.begin(L(200))).toBe('apply');
    c.keepalive(L(900)); // mid-transaction: walEnd is past this transaction's commit
    expect(c.confirmable).toBe(L(100));
    expect(c.commit(L(210))).toBe(true);
    c.keepalive(L(900)); // committed on the source, not yet on the target
    expect(c.confirmable).toBe(L(100));
    expect(c.pending).toBe(true);
    expect(c.durable()).toBe(L(210));
    expect(c.confirmable).toBe(L(210));
    c.keepalive(L(900));
    expect(c.confirmable).toBe(L(900));
  });

  it('skips by commit position only: a transaction that began before the checkpoint but commits after it is applied', () => {
    // Stored position 1000 (end of some commit). T1 began (first change) at 400 but commits at 1500:
    // a replay ordered or skipped by BEGIN/first-change position would lose it. pgoutput's BEGIN carries
    // the commit position, which is what the cursor compares.
    const c = new SyncCursor(L(1000), undefined);
    expect(c.begin(L(1500))).toBe('apply');
    expect(c.commit(L(1510))).toBe(true);
    // A transaction re-sent after a reconnect, committed before the checkpoint, is skipped.
    const d = new SyncCursor(L(1000), undefined);
    expect(d.begin(L(900))).toBe('skip');
    expect(d.applying).toBe(false);
    expect(d.commit(L(1000))).toBe(false);
    expect(d.pending).toBe(false);
  });

  it('refuses commits out of order instead of applying them', () => {
    const c = new SyncCursor(L(0), undefined);
    c.begin(L(500));
    c.commit(L(510));
    expect(() => c.begin(L(505))).toThrow(/out of commit order/);
  });

  it('is done with stopAt only when every commit before it is durable, not when a keepalive passes it', () => {
    const c = new SyncCursor(L(100), L(300));
    expect(c.begin(L(200))).toBe('apply');
    expect(c.commit(L(250))).toBe(true);
    c.keepalive(L(400));
    expect(c.done).toBe(false); // transaction 250 is not on the target yet
    c.durable();
    expect(c.done).toBe(false); // and the keepalive was ignored; the next one decides
    c.keepalive(L(400));
    expect(c.done).toBe(true);
  });

  it('stops at the first transaction committing at or after stopAt without applying it', () => {
    const c = new SyncCursor(L(100), L(300));
    expect(c.begin(L(150))).toBe('apply');
    c.commit(L(160));
    expect(c.begin(L(300))).toBe('stop');
    expect(c.done).toBe(false);
    c.durable();
    expect(c.done).toBe(true);
    expect(c.applied).toBe(L(160));
  });

  it('is done at once when the stored position is already at stopAt (idle source at cutover)', () => {
    expect(new SyncCursor(L(300), L(300)).done).toBe(true);
  });

  it('counts a stopAt inside the page header after walEnd as reached (no hang on an idle source)', () => {
    expect(reaches(parseLsn('0/2000'), parseLsn('0/2018'))).toBe(true);
    expect(reaches(parseLsn('0/2000'), parseLsn('0/2028'))).toBe(true);
    expect(reaches(parseLsn('0/2000'), parseLsn('0/2030'))).toBe(false);
    expect(reaches(parseLsn('0/1FF8'), parseLsn('0/2000'))).toBe(false);
  });

  it('rolls back to the durable position', () => {
    const c = new SyncCursor(L(100), undefined);
    c.begin(L(200));
    c.commit(L(210));
    c.begin(L(300));
    c.rolledBack();
    expect(c.inTransaction).toBe(false);
    expect(c.pending).toBe(false);
    expect(c.applied).toBe(L(100));
  });
});
