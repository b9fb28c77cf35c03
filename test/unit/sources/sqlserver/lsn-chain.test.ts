/**
 * Restore chains from LSNs, with values shaped like RESTORE HEADERONLY's for a database in FULL
 * recovery with log backups every 15 minutes, a nightly full and a midday differential.
 */
import { BackupError } from '../../../../core/errors';
import {
	checkChainOrder,
	differentialBase,
	headerLsnMatches,
	lsnEquals,
	lsnText,
	planRestoreChain,
	type ChainMember,
} from '../../../../core/sources/sqlserver/lsn-chain';

const member = (
	backupId: string,
	type: ChainMember['type'],
	first: string,
	last: string,
	checkpoint: string,
	databaseBackup: string,
	copyOnly = false,
): ChainMember => ({
	backupId,
	type,
	copyOnly,
	lsn: { first, last, checkpoint, databaseBackup, differentialBase: type === 'differential' ? databaseBackup : null },
});

// Nightly full; log L1 started before it (the log chain does not restart at a full) and contains its LastLSN.
const F1 = member(
	'prod-20261126T020000Z-full-db',
	'full',
	'41000000012800037',
	'41000000014400001',
	'41000000012800037',
	'40000000051200037',
);
const L1 = member(
	'prod-20261126T021500Z-log-db',
	'log',
	'41000000009600001',
	'41000000016000001',
	'41000000012800037',
	'41000000012800037',
);
const L2 = member(
	'prod-20261126T023000Z-log-db',
	'log',
	'41000000016000001',
	'41000000017600001',
	'41000000016000001',
	'41000000012800037',
);
const D1 = member(
	'prod-20261126T120000Z-differential-db',
	'differential',
	'41000000018400034',
	'41000000019200001',
	'41000000018400034',
	'41000000012800037',
);
const L3 = member(
	'prod-20261126T121500Z-log-db',
	'log',
	'41000000017600001',
	'42000000000800001',
	'41000000018400034',
	'41000000012800037',
);
const L4 = member(
	'prod-20261126T123000Z-log-db',
	'log',
	'42000000000800001',
	'42000000002400001',
	'42000000000800001',
	'41000000012800037',
);
const all = [F1, L1, L2, D1, L3, L4];
const ids = (chain: ChainMember[]) => chain.map((m) => m.backupId);

describe('planRestoreChain', () => {
	it('a full restores alone', () => {
		expect(ids(planRestoreChain(F1, all))).toEqual([F1.backupId]);
	});

	it("a differential names its full through DatabaseBackupLSN = the full's CheckpointLSN", () => {
		expect(ids(planRestoreChain(D1, all))).toEqual([F1.backupId, D1.backupId]);
	});

	it('logs continue the full whose LastLSN they contain', () => {
		expect(ids(planRestoreChain(L2, all))).toEqual([F1.backupId, L1.backupId, L2.backupId]);
	});

	it('prefers the shorter chain through the differential', () => {
		expect(ids(planRestoreChain(L4, all))).toEqual([F1.backupId, D1.backupId, L3.backupId, L4.backupId]);
	});

	it('without the differential, walks every log back to the full', () => {
		expect(ids(planRestoreChain(L4, [F1, L1, L2, L3, L4]))).toEqual([F1, L1, L2, L3, L4].map((m) => m.backupId));
	});

	it('a missing log breaks the chain, naming the LSN where the gap is', () => {
		const attempt = () => planRestoreChain(L4, [F1, L1, L3, L4]);
		expect(attempt).toThrow(BackupError);
		expect(attempt).toThrow(
			/chain to prod-20261126T123000Z-log-db is broken before log prod-20261126T121500Z-log-db .*no log backup ends at LSN 41000000017600001/,
		);
		try {
			attempt();
		} catch (error) {
			expect((error as BackupError).code).toBe('BACKUP_CHAIN_BROKEN');
		}
	});

	it('a log taken before the full cannot start after it', () => {
		expect(() => planRestoreChain(L1, [L1])).toThrow(/no log backup ends at LSN 41000000009600001/);
	});

	it('a differential without its full fails clearly, and a copy-only full is never a base', () => {
		expect(() => planRestoreChain(D1, [D1, L3])).toThrow(
			/based on the full backup with checkpoint LSN 41000000012800037, which is not among the 0 full/,
		);
		const copyOnly = { ...F1, copyOnly: true };
		expect(() => differentialBase(D1, [copyOnly])).toThrow(/not among the 1 full/);
	});

	it('a copy-only full can still start a log chain', () => {
		const copyOnly = { ...F1, backupId: 'copy', copyOnly: true };
		expect(ids(planRestoreChain(L2, [copyOnly, L1, L2]))).toEqual(['copy', L1.backupId, L2.backupId]);
	});

	it('compares 25-digit LSNs exactly (they do not fit a double)', () => {
		const a = '9999999999999999999999998';
		const b = '9999999999999999999999999';
		expect(Number(a)).toBe(Number(b));
		expect(lsnEquals(a, b)).toBe(false);
		const full = member('full', 'full', '9999999999999999999999990', a, '9999999999999999999999990', '0');
		const log = member('log', 'log', b, '9999999999999999999999999', b, '0');
		expect(() => checkChainOrder([full, log])).toThrow(
			/starts at LSN 9999999999999999999999999, .*ends at LSN 9999999999999999999999998/,
		);
		const contiguous = member('log', 'log', a, b, a, '0');
		expect(() => checkChainOrder([full, contiguous])).not.toThrow();
	});
});

describe('checkChainOrder', () => {
	it('accepts full → differential → contiguous logs', () => {
		expect(() => checkChainOrder([F1, D1, L3, L4])).not.toThrow();
		expect(() => checkChainOrder([F1, L1, L2, L3, L4])).not.toThrow();
	});

	it('rejects a gap between logs', () => {
		expect(() => checkChainOrder([F1, L1, L3])).toThrow(
			/Log backup prod-20261126T121500Z-log-db starts at LSN 41000000017600001, but the previous backup prod-20261126T021500Z-log-db ends at LSN 41000000016000001/,
		);
	});

	it('rejects a chain that does not start with a full, a second full, or a foreign differential', () => {
		expect(() => checkChainOrder([D1])).toThrow(/must start with a full/);
		expect(() => checkChainOrder([])).toThrow(/must start with a full/);
		expect(() => checkChainOrder([F1, F1])).toThrow(/second full/);
		const otherFull = member('other', 'full', '50000000000100037', '50000000000200001', '50000000000100037', '0');
		expect(() => checkChainOrder([otherFull, D1])).toThrow(/does not follow its base/);
	});

	it("rejects a log that does not contain the full's LastLSN", () => {
		expect(() => checkChainOrder([F1, L2])).toThrow(/chain has a gap/);
	});
});

describe('LSN values from the driver', () => {
	it('takes text, bigints and exact numbers; refuses rounded doubles', () => {
		expect(lsnText('41000000012800037', 'FirstLSN')).toBe('41000000012800037');
		expect(lsnText(41000000012800037n, 'FirstLSN')).toBe('41000000012800037');
		expect(lsnText(12800037, 'FirstLSN')).toBe('12800037');
		expect(() => lsnText(41000000012800037, 'FirstLSN')).toThrow(/not an exact LSN/);
		expect(() => lsnText('12a', 'FirstLSN')).toThrow(/not an exact LSN/);
	});

	it('a HEADERONLY double confirms an msdb LSN to within its rounding, and rejects a different one', () => {
		expect(headerLsnMatches(Number('41000000012800037'), '41000000012800037')).toBe(true);
		expect(headerLsnMatches('41000000012800037', '41000000012800037')).toBe(true);
		expect(headerLsnMatches(Number('41000000014400001'), '41000000012800037')).toBe(false);
		expect(headerLsnMatches(null, '41000000012800037')).toBe(false);
	});
});
