/** Small pieces of the point-in-time engine: names, messages, parsing of tool output. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressionArgument, dataBytes, walRanges } from '../../../core/sources/postgres-pitr/base-backup';
import { pitrSectionSchema, pitrSourceSchema } from '../../../core/sources/postgres-pitr/manifest';
import { logTime } from '../../../core/sources/postgres-pitr/restore-test';
import { slotNameFor } from '../../../core/sources/postgres-pitr/server';
import { libpqFailure } from '../../../core/sources/postgres-pitr/tools';

test('slot names: totvs_ and the environment in the characters slots allow', () => {
	expect(slotNameFor('prod')).toBe('totvs_prod');
	expect(slotNameFor('P12-homolog.2')).toBe('totvs_p12_homolog_2');
	expect(slotNameFor('x'.repeat(80))).toHaveLength(63);
});

test("pg_basebackup's compression option", () => {
	expect(compressionArgument('gzip', null, 'client')).toBe('--compress=client-gzip');
	expect(compressionArgument('zstd', 3, 'server')).toBe('--compress=server-zstd:3');
	expect(compressionArgument('none', 5, 'client')).toBe('--compress=none');
});

test('backup_manifest: WAL ranges from its tail, data size from its file list', async () => {
	const folder = mkdtempSync(join(tmpdir(), 'pitr-manifest-'));
	try {
		const file = join(folder, 'backup_manifest');
		writeFileSync(
			file,
			`{ "PostgreSQL-Backup-Manifest-Version": 1,\n"Files": [\n` +
				`{ "Path": "backup_label", "Size": 225, "Last-Modified": "2026-12-05 14:51:12 GMT", "Checksum-Algorithm": "CRC32C", "Checksum": "1" },\n` +
				`{ "Path": "global/pg_control", "Size": 8192, "Last-Modified": "2026-12-05 14:51:12 GMT", "Checksum-Algorithm": "CRC32C", "Checksum": "2" }\n],\n` +
				`"WAL-Ranges": [\n{ "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/2000100" }\n],\n"Manifest-Checksum": "x"}\n`,
		);
		expect(await walRanges(file)).toEqual([{ timeline: 1, start: '0/2000028', end: '0/2000100' }]);
		expect(await dataBytes(file)).toBe(225 + 8192);
	} finally {
		rmSync(folder, { recursive: true, force: true });
	}
});

test("the server log's UTC times become ISO-8601", () => {
	expect(logTime('2026-12-05 15:03:07.848123+00')).toBe('2026-12-05T15:03:07.848Z');
	expect(logTime('2026-12-05 15:03:07+00')).toBe('2026-12-05T15:03:07.000Z');
	expect(logTime('yesterday')).toBe('yesterday');
});

test('libpq failures become errors that say what to change', () => {
	const hba = libpqFailure(
		'pg_basebackup',
		'pg_basebackup: error: connection to server at "10.0.0.5", port 5432 failed: FATAL:  no pg_hba.conf entry for replication connection from host "10.0.0.9", user "backup", no encryption',
		'backup',
		'',
	);
	expect(hba.code).toBe('PERMISSION_DENIED');
	expect(hba.hint).toContain('host replication backup <n8n host address>/32 scram-sha-256');
	expect(libpqFailure('x', 'FATAL:  must be superuser or replication role to start walsender', 'u', '').hint).toContain(
		'ALTER ROLE "u" REPLICATION',
	);
	expect(libpqFailure('x', 'FATAL:  password authentication failed for user "u"', 'u', '').code).toBe('AUTH_FAILED');
	expect(libpqFailure('x', 'ERROR:  replication slot "totvs_prod" is active for PID 4242', 'u', '').code).toBe(
		'LOCKED',
	);
	const removed = libpqFailure(
		'x',
		'ERROR:  requested WAL segment 000000010000000000000003 has already been removed',
		'u',
		'',
	);
	expect(removed.code).toBe('BACKUP_CHAIN_BROKEN');
	expect(removed.hint).toMatch(/start a new base backup/);
	expect(libpqFailure('x', 'something else', 'u', 'fallback').hint).toBe('fallback');
});

test('the manifest sections the engine writes pass their schema; a wrong field is named', () => {
	const section = {
		kind: 'wal',
		timeline: 1,
		startLsn: '0/3000000',
		endLsn: '0/400A000',
		endTime: '2026-12-05T15:02:02.896Z',
		previousEndLsn: '0/3014000',
		previousBackupId: 'p-1',
		segments: [
			{
				name: '000000010000000000000003',
				path: 'wal/000000010000000000000003.gz',
				partial: false,
				compression: 'gzip',
			},
		],
		historyFiles: [],
	};
	expect(pitrSectionSchema(section, 'pitr')).toBeUndefined();
	expect(pitrSectionSchema({ ...section, endLsn: '0/zz' }, 'pitr')).toContain('pitr.endLsn');
	expect(pitrSectionSchema({ ...section, kind: 'other' }, 'pitr')).toContain('pitr.kind');
	expect(pitrSourceSchema({ slotName: 'Bad-Name' }, 'source')).toContain('source.host');
});
