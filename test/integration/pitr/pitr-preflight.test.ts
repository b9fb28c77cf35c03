/**
 * The pre-flight of point-in-time backups against real servers: each missing requirement
 * (wal_level, WAL senders, the REPLICATION attribute, a pg_hba.conf replication line, the
 * server programs for restore tests) is reported with its fix, and a base backup refuses to
 * start without writing anything.
 */
import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IN_PROGRESS_MARKER } from '../../../core/backup-set/manifest';
import { BackupSetWriter } from '../../../core/backup-set/set-writer';
import { isBackupError } from '../../../core/errors';
import { silentLogger } from '../../../core/logger';
import type { PostgresConnection } from '../../../core/sources/postgres';
import { defaultPitrOptions, preflight, slotReport, takeBaseBackup } from '../../../core/sources/postgres-pitr';
import { startPitrServer, type PitrServer } from '../../../support/pitr-server';
import { createRole, startPostgres, type PgServer } from '../../../support/postgres';

let pitr: PitrServer;
let minimal: PgServer;
let staging: string;

const connectionTo = (server: PgServer, user: string, password: string): PostgresConnection => ({
	host: server.host,
	port: server.port,
	database: 'postgres',
	user,
	password,
	sslMode: 'disable',
});

/** A base backup that must be refused before anything is written (its set folder stays empty). */
async function refusedBase(connection: PostgresConnection, environment: string) {
	const set = await BackupSetWriter.create(staging, environment, 'full', 'database', new Date());
	try {
		await takeBaseBackup({ connection, environment, set, options: defaultPitrOptions, log: silentLogger });
	} catch (error) {
		// Nothing written but the writer's own in-progress marker.
		expect(readdirSync(set.folder)).toEqual([IN_PROGRESS_MARKER]);
		await set.abort();
		return error as Error & { code?: string; hint?: string };
	}
	throw new Error('expected the base backup to be refused');
}

beforeAll(async () => {
	[pitr, minimal] = await Promise.all([
		startPitrServer(),
		startPostgres({ settings: { wal_level: 'minimal', max_wal_senders: 0 } }),
	]);
	await createRole(pitr, 'reader', 'secret', { memberOf: ['pg_read_all_data'] });
	await createRole(pitr, 'backup', 'secret', { replication: true });
	await createRole(minimal, 'backup', 'secret', { replication: true });
	staging = mkdtempSync(join(tmpdir(), 'totvs-pitr-preflight-'));
}, 120_000);

afterAll(async () => {
	await Promise.all([pitr?.stop(), minimal?.stop()]);
	if (staging) rmSync(staging, { recursive: true, force: true });
});

test('wal_level minimal and no WAL senders: both reported with their fix; the base backup refuses', async () => {
	const connection = connectionTo(minimal, 'backup', 'secret');
	const report = await preflight({ connection, environment: 'minimal' });
	expect(report.ok).toBe(false);
	const failed = report.checks.filter((c) => !c.passed);
	expect(failed.map((c) => c.check)).toEqual(['wal_level', 'max_wal_senders']);
	expect(failed[0].detail).toContain('"minimal"');
	expect(failed[0].hint).toContain("wal_level = 'replica'");
	expect(failed[1].hint).toContain('max_wal_senders');

	const error = await refusedBase(connection, 'minimal');
	expect(isBackupError(error) && error.code).toBe('UNSUPPORTED_OPTION');
	expect(error.message).toContain('wal_level');
});

test('a role without REPLICATION: reported with ALTER ROLE; the base backup refuses and creates no slot', async () => {
	const connection = connectionTo(pitr, 'reader', 'secret');
	const report = await preflight({ connection, environment: 'noreplication' });
	const failed = report.checks.filter((c) => !c.passed);
	expect(failed.map((c) => c.check)).toEqual(['REPLICATION']);
	expect(failed[0].hint).toContain('ALTER ROLE "reader" REPLICATION');

	const error = await refusedBase(connection, 'noreplication');
	expect(error.message).toContain('neither REPLICATION nor SUPERUSER');
	expect((await slotReport(connection, 'totvs_noreplication')).exists).toBe(false);
});

test('pg_hba.conf without a replication line: the replication login is proven refused, with the line to add', async () => {
	const connection = connectionTo(pitr, 'backup', 'secret');
	await pitr.setHba(['local all all scram-sha-256', 'host all all 127.0.0.1/32 scram-sha-256']);
	try {
		const report = await preflight({ connection, environment: 'nohba' });
		const failed = report.checks.filter((c) => !c.passed);
		expect(failed.map((c) => c.check)).toEqual(['replication connection']);
		expect(failed[0].detail).toContain('pg_hba.conf');
		expect(failed[0].hint).toContain('host replication backup');

		const error = await refusedBase(connection, 'nohba');
		expect(isBackupError(error) && error.code).toBe('PERMISSION_DENIED');
		expect(error.hint).toContain('pg_hba.conf');
	} finally {
		await pitr.setHba([
			'local all all scram-sha-256',
			'host all all 127.0.0.1/32 scram-sha-256',
			'host replication all 127.0.0.1/32 scram-sha-256',
		]);
	}
	const report = await preflight({ connection, environment: 'nohba' });
	expect(report.checks.filter((c) => !c.passed)).toEqual([]);
});

test('a base backup that fails after creating the slot drops it again (no WAL kept for nothing)', async () => {
	const connection = connectionTo(pitr, 'backup', 'secret');
	// A client folder whose pg_basebackup fails the way a real one does when the network drops.
	const bin = mkdtempSync(join(tmpdir(), 'totvs-pitr-bin-'));
	try {
		symlinkSync(join(pitr.binDir, 'pg_receivewal'), join(bin, 'pg_receivewal'));
		writeFileSync(
			join(bin, 'pg_basebackup'),
			'#!/bin/sh\nif [ "$1" = --version ]; then echo "pg_basebackup (PostgreSQL) 15.99"; exit 0; fi\n' +
				'echo "pg_basebackup: error: could not read COPY data: server closed the connection unexpectedly" >&2\nexit 1\n',
			{ mode: 0o755 },
		);
		const set = await BackupSetWriter.create(staging, 'failing', 'full', 'database', new Date());
		const error = await takeBaseBackup({
			connection,
			environment: 'failing',
			set,
			options: { ...defaultPitrOptions, binFolder: bin },
			log: silentLogger,
		}).then(
			() => new Error('expected a failure'),
			(e: Error & { code?: string }) => e,
		);
		await set.abort();
		expect(isBackupError(error) && error.code).toBe('DUMP_FAILED');
		expect(error.message).toContain('server closed the connection unexpectedly');
		expect((await slotReport(connection, 'totvs_failing')).exists).toBe(false);
	} finally {
		rmSync(bin, { recursive: true, force: true });
	}
});

test('restore tests: server programs of the same major are looked for, a wrong folder is named', async () => {
	const connection = connectionTo(pitr, 'backup', 'secret');
	const good = await preflight({ connection, environment: 'programs', restoreTest: {} });
	expect(good.tools.server?.binDir).toBe(`/usr/lib/postgresql/${good.state?.major}/bin`);
	const bad = await preflight({
		connection,
		environment: 'programs',
		restoreTest: { serverBinFolder: '/nonexistent/bin' },
	});
	const failed = bad.checks.filter((c) => !c.passed);
	expect(failed.map((c) => c.check)).toEqual(['server programs']);
	expect(failed[0].detail).toContain('/nonexistent/bin');
	expect(failed[0].hint).toContain(`postgresql-${good.state?.major}`);
});
