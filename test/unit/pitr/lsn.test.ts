import { isBackupError } from '../../../core/errors';
import {
	classifyWalFile,
	formatLsn,
	parseLsn,
	parseSegmentName,
	segmentName,
	segmentOf,
	segmentStart,
} from '../../../core/sources/postgres-pitr/lsn';

const MB16 = 16 * 1024 * 1024;

test('LSNs parse and print as PostgreSQL spells them', () => {
	expect(parseLsn('0/2000028')).toBe(0x2000028n);
	expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) | 0xb374d848n);
	expect(formatLsn(parseLsn('16/b374d848'))).toBe('16/B374D848');
	expect(formatLsn(0n)).toBe('0/0');
	for (const bad of ['', '0', '1/2/3', 'G/0', '123456789/0']) {
		let error: unknown;
		try {
			parseLsn(bad);
		} catch (e) {
			error = e;
		}
		expect(isBackupError(error) && error.code).toBe('INVALID_INPUT');
	}
});

test('segment names split the segment number at 4 GiB of WAL, for any segment size', () => {
	expect(segmentName(1, segmentOf(parseLsn('0/2000028'), MB16), MB16)).toBe('000000010000000000000002');
	// 256 segments of 16 MiB per 4 GiB: segment 256 is the first of the second "log id".
	expect(segmentName(1, 256n, MB16)).toBe('000000010000000100000000');
	expect(segmentName(2, segmentOf(parseLsn('16/B374D848'), MB16), MB16)).toBe('0000000200000016000000B3');
	// 1 GiB segments: 4 per log id.
	expect(segmentName(1, segmentOf(parseLsn('16/B374D848'), 1024 ** 3), 1024 ** 3)).toBe('000000010000001600000002');
	expect(parseSegmentName('0000000200000016000000B3', MB16)).toEqual({ timeline: 2, segment: 0x16n * 256n + 0xb3n });
	expect(formatLsn(segmentStart(parseLsn('0/3014000'), MB16))).toBe('0/3000000');
});

test("pg_receivewal's file names are classified; anything else is not WAL", () => {
	expect(classifyWalFile('000000010000000000000003.gz')).toEqual({
		kind: 'segment',
		name: '000000010000000000000003',
		timeline: 1,
		partial: false,
		compression: 'gzip',
	});
	expect(classifyWalFile('000000010000000000000004.gz.partial')).toMatchObject({ partial: true, compression: 'gzip' });
	expect(classifyWalFile('00000002000000000000000A.partial')).toMatchObject({
		timeline: 2,
		partial: true,
		compression: 'none',
	});
	expect(classifyWalFile('00000002.history')).toMatchObject({ kind: 'history', timeline: 2 });
	expect(classifyWalFile('000000010000000000000003.gz.tmp')).toBeUndefined();
	expect(classifyWalFile('backup_manifest')).toBeUndefined();
});
