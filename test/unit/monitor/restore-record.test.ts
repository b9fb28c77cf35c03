/**
 * The restore-test record format (core/restore-record): what the writer builds, its file name,
 * and the parser's refusals. Writing to and listing from real destinations is in
 * test/integration/monitor/restore-record.test.ts.
 */
import {
	MAX_CHECKS,
	MAX_CHECK_TEXT,
	buildRestoreRecord,
	parseRestoreRecord,
	parseRestoreRecordName,
	restoreRecordFileName,
	restoreRecordPath,
	serializeRestoreRecord,
	type RestoreRecordInput,
} from '../../../core/restore-record';

const input = (overrides: Partial<RestoreRecordInput> = {}): RestoreRecordInput => ({
	environment: 'prod',
	testedId: 'prod-20261126T020000Z-full-db',
	engine: 'postgres',
	passed: true,
	startedAt: new Date('2026-11-29T04:00:00.000Z'),
	finishedAt: new Date('2026-11-29T04:12:30.500Z'),
	fetchMs: 120_000,
	restoreMs: 540_000,
	checksMs: 30_000,
	restoredBytes: 5_000_000,
	checks: [{ name: 'row counts', ok: true, expected: '3', actual: '3', message: 'ok' }],
	restoreServer: { engine: 'postgres', host: 'restore-01', port: 5432, target: 'totvs_rt_x' },
	sourceDestination: 'sftp://backup@10.0.0.5:22/totvs',
	...overrides,
});

describe('buildRestoreRecord', () => {
	it('fills the format, the id, the package and the RTO (fetch + restore + checks)', () => {
		const record = buildRestoreRecord(input(), '0123456789abcdef');
		expect(record).toMatchObject({
			format: 1,
			kind: 'totvs-restore-test',
			id: '0123456789abcdef',
			environment: 'prod',
			testedId: 'prod-20261126T020000Z-full-db',
			backupIds: ['prod-20261126T020000Z-full-db'],
			passed: true,
			startedAt: '2026-11-29T04:00:00.000Z',
			finishedAt: '2026-11-29T04:12:30.500Z',
			durationMs: 750_500,
			rtoMs: 690_000,
			restoredBytes: 5_000_000,
			sourceDestination: 'sftp://backup@10.0.0.5:22/totvs',
			createdBy: { package: 'n8n-nodes-totvs-backup' },
		});
		expect(record.createdBy.version).toMatch(/^\d+\.\d+\.\d+/);
		expect(parseRestoreRecord(serializeRestoreRecord(record), 'x')).toEqual(record);
	});

	it('copies only engine, host, port and target of the restore server: never a password', () => {
		const server = { engine: 'postgres', host: 'db', port: 5432, user: 'admin', password: 'hunter2-secret' };
		const record = buildRestoreRecord(input({ restoreServer: server }));
		expect(record.restoreServer).toEqual({ engine: 'postgres', host: 'db', port: 5432 });
		expect(serializeRestoreRecord(record)).not.toMatch(/hunter2|admin/);
	});

	it('keeps records small: texts cut, at most MAX_CHECKS checks with every failure kept', () => {
		const checks = Array.from({ length: MAX_CHECKS + 10 }, (_, i) => ({
			name: `check ${i}`,
			ok: i !== MAX_CHECKS + 5,
			expected: 'x'.repeat(MAX_CHECK_TEXT + 50),
			actual: '1',
		}));
		const record = buildRestoreRecord(input({ checks, passed: false }));
		expect(record.checks).toHaveLength(MAX_CHECKS);
		expect(record.checks[0]).toMatchObject({ name: `check ${MAX_CHECKS + 5}`, ok: false });
		expect(record.checks[0].expected).toHaveLength(MAX_CHECK_TEXT);
		expect(record.checksTruncated).toBe(true);
	});

	it('an explicit RTO wins; a chain lists every set restored', () => {
		const record = buildRestoreRecord(
			input({
				rtoMs: 1000,
				testedId: 'prod-20261127T020000Z-log-db',
				backupIds: ['prod-20261126T020000Z-full-db', 'prod-20261127T020000Z-log-db'],
			}),
		);
		expect(record.rtoMs).toBe(1000);
		expect(record.backupIds).toHaveLength(2);
	});

	it('refuses ids of another environment and bad times, saying what is wrong', () => {
		expect(() =>
			serializeRestoreRecord(buildRestoreRecord(input({ testedId: 'homolog-20261126T020000Z-full-db' }))),
		).toThrow(/testedId: not a backup or restore point id of prod/);
		expect(() => buildRestoreRecord(input({ finishedAt: 'yesterday' }))).toThrow(/"yesterday" is not a time/);
		expect(() => buildRestoreRecord(input({ environment: '../etc' }))).toThrow(/cannot be used in folder names/);
	});
});

describe('record file names', () => {
	const record = buildRestoreRecord(input(), 'abcdef0123456789');

	it('carry the tested id, the time and the outcome, and parse back', () => {
		expect(restoreRecordFileName(record)).toBe(
			'prod-20261126T020000Z-full-db.restore-test-20261129T041230Z-passed-abcdef0123456789.json',
		);
		expect(restoreRecordPath(record)).toBe(`prod/${restoreRecordFileName(record)}`);
		expect(parseRestoreRecordName('prod', restoreRecordFileName(record))).toEqual({
			testedId: 'prod-20261126T020000Z-full-db',
			finishedAt: '2026-11-29T04:12:30Z',
			outcome: 'passed',
			id: 'abcdef0123456789',
		});
		expect(restoreRecordFileName({ ...record, passed: false })).toContain('-failed-');
	});

	it('a restore point id is a valid tested id', () => {
		const name = 'prod-20261126T020000Z-rp-0a1b2c.restore-test-20261129T041230Z-failed-0123abcd.json';
		expect(parseRestoreRecordName('prod', name)).toMatchObject({ testedId: 'prod-20261126T020000Z-rp-0a1b2c' });
	});

	it.each([
		['another environment', 'homolog-20261126T020000Z-full-db.restore-test-20261129T041230Z-passed-0123abcd.json'],
		['the manifest', 'manifest.json'],
		['the lock', '.totvs-lock.json'],
		[
			'a partial upload',
			'.prod-20261126T020000Z-full-db.restore-test-20261129T041230Z-passed-0123abcd.json.totvs-partial',
		],
		['a signature', 'prod-20261126T020000Z-full-db.restore-test-20261129T041230Z-passed-0123abcd.json.sig'],
		['an impossible date', 'prod-20261126T020000Z-full-db.restore-test-20261399T041230Z-passed-0123abcd.json'],
		['an unknown outcome', 'prod-20261126T020000Z-full-db.restore-test-20261129T041230Z-maybe-0123abcd.json'],
	])('ignore %s', (_what, name) => {
		expect(parseRestoreRecordName('prod', name)).toBeUndefined();
	});
});

describe('parseRestoreRecord', () => {
	const text = serializeRestoreRecord(buildRestoreRecord(input()));

	it('names the field that is wrong', () => {
		const edited = JSON.parse(text);
		edited.passed = 'yes';
		expect(() => parseRestoreRecord(JSON.stringify(edited), 'sftp://x/prod/r.json')).toThrow(
			'Restore-test record sftp://x/prod/r.json is invalid: field passed: expected true or false, found string',
		);
	});

	it('refuses truncated JSON and a newer format', () => {
		expect(() => parseRestoreRecord(text.slice(0, 50), 'r')).toThrow(/not valid JSON/);
		expect(() => parseRestoreRecord(JSON.stringify({ ...JSON.parse(text), format: 2 }), 'r')).toThrow(
			/record format 2, newer than the 1/,
		);
	});

	it('refuses a backup id of another environment in the chain', () => {
		const edited = { ...JSON.parse(text), backupIds: ['../../etc'] };
		expect(() => parseRestoreRecord(JSON.stringify(edited), 'r')).toThrow(
			/backupIds: "..\/..\/etc" is not a backup id of prod/,
		);
	});
});
