/**
 * The manifest of a point-in-time set: engine postgres-pitr with its pitr section, read and
 * written by the same schema as every other set; a base is a full with the database inventory,
 * a WAL set an incremental whose parent is the set it continues; a wrong combination is named.
 */
import { parseManifest, serializeManifest, type Manifest } from '../../../core/backup-set/manifest';
import { chainsOf, pitrRecordOf } from '../../../core/sources/postgres-pitr/sets';
import { sampleManifest } from '../../fixtures/manifest';

const source = {
	host: 'db',
	port: 5432,
	database: 'protheus',
	user: 'backup',
	serverVersion: '15.18',
	serverVersionNum: 150018,
	systemIdentifier: '7715832534193171628',
	walSegmentBytes: 16777216,
	encoding: 'WIN1252',
	collation: 'C',
	ctype: 'C',
	extensions: [],
	databaseBytes: 1000,
	bootstrapSuperuser: 'postgres',
	slotName: 'totvs_prod',
	clientVersion: 'pg_basebackup 15.18',
};

const BASE = 'prod-20261126T020000Z-full-db';
const WAL1 = 'prod-20261126T020500Z-incremental-db';
const WAL2 = 'prod-20261126T021000Z-incremental-db';

function base(): Manifest {
	return sampleManifest({
		engine: 'postgres-pitr',
		source,
		artifacts: [{ path: 'base/base.tar.gz', bytes: 10, sha256: 'a'.repeat(64), kind: 'pg_basebackup-base' }],
		pitr: {
			kind: 'base',
			timeline: 1,
			startLsn: '0/2000028',
			stopLsn: '0/2000138',
			walEndLsn: '0/3000000',
			startedAt: '2026-11-26T02:00:00.000Z',
			stoppedAt: '2026-11-26T02:01:00.000Z',
			label: BASE,
			backupManifest: 'base/backup_manifest',
			baseArchive: 'base/base.tar.gz',
			walArchive: 'base/pg_wal.tar.gz',
			tablespaces: [],
			compression: { method: 'gzip', level: null, where: 'client' },
			dataBytes: 30_000_000,
		},
	});
}

function wal(backupId: string, previous: string, startLsn: string, endLsn: string): Manifest {
	return {
		...sampleManifest({ engine: 'postgres-pitr', source: { ...source, clientVersion: 'pg_receivewal 15.18' } }),
		backupId,
		type: 'incremental',
		baseBackupId: BASE,
		parentBackupId: previous,
		artifacts: [
			{ path: 'wal/000000010000000000000003.gz.partial', bytes: 5, sha256: 'b'.repeat(64), kind: 'wal-partial' },
		],
		inventory: { engine: 'postgres-wal', segments: 1, walBytes: 5 } as unknown as Manifest['inventory'],
		pitr: {
			kind: 'wal',
			timeline: 1,
			startLsn,
			endLsn,
			endTime: '2026-11-26T02:05:00.000Z',
			previousEndLsn: '0/2000138',
			previousBackupId: previous,
			segments: [
				{
					name: '000000010000000000000003',
					path: 'wal/000000010000000000000003.gz.partial',
					partial: true,
					compression: 'gzip',
				},
			],
			historyFiles: [],
		},
	};
}

const problem = (m: unknown) => {
	try {
		parseManifest(JSON.stringify(m), 'm.json');
		return undefined;
	} catch (error) {
		return (error as Error).message;
	}
};

test('a base and a WAL set round-trip through the manifest schema', () => {
	for (const m of [base(), wal(WAL1, BASE, '0/3000000', '0/3014000')])
		expect(parseManifest(serializeManifest(m), 'm.json')).toEqual(m);
});

test('each wrong part is named', () => {
	const noSection = base();
	delete noSection.pitr;
	expect(problem(noSection)).toMatch(/field pitr: a postgres-pitr set needs its pitr section/);
	expect(problem({ ...base(), type: 'incremental' })).toMatch(
		/field type: a base backup \(pitr.kind "base"\) is a full/,
	);
	expect(problem({ ...wal(WAL1, BASE, '0/3000000', '0/3014000'), parentBackupId: WAL2 })).toMatch(
		/field parentBackupId: a WAL set's parent is the set it continues/,
	);
	const badLsn = base();
	(badLsn.pitr as { stopLsn: string }).stopLsn = '0/zz';
	expect(problem(badLsn)).toMatch(/field pitr.stopLsn: expected a WAL position/);
	expect(problem({ ...wal(WAL1, BASE, '0/3000000', '0/3014000'), inventory: base().inventory })).toMatch(
		/inventory.engine: a WAL set carries a WAL inventory/,
	);
	expect(problem({ ...sampleManifest(), pitr: base().pitr })).toMatch(
		/field pitr: only postgres-pitr sets have a pitr section, this is a postgres set/,
	);
});

test('chains are read back from manifests: a base and the WAL sets that continue it, in order', () => {
	const entries = [
		{ folder: '/s/w2', manifest: wal(WAL2, WAL1, '0/3000000', '0/3020000') },
		{ folder: '/s/b', manifest: base() },
		{ folder: '/s/w1', manifest: wal(WAL1, BASE, '0/3000000', '0/3014000') },
		{ folder: '/s/pg', manifest: sampleManifest({ backupId: 'prod-20261126T030000Z-full-db' }) },
	];
	const chains = chainsOf(entries);
	expect(chains.map((c) => c.map((s) => s.backupId))).toEqual([[BASE, WAL1, WAL2]]);
	expect(chains[0][0].inventory?.engine).toBe('postgres');
	expect(chains[0][1].inventory).toBeUndefined();
	expect(() => pitrRecordOf(sampleManifest(), '/s/pg')).toThrow(/is a postgres set, not a point-in-time/);
});
