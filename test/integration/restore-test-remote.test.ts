/**
 * TOTVS Restore Test "From a Destination" inside n8n's real engine: Manual Trigger -> Dump ->
 * Verify -> Upload (SFTP, OpenSSH sshd on loopback) -> Restore Test of the latest set of the
 * environment on that SFTP server, downloaded and verified first. Then: a byte flipped in the
 * copy on the SFTP server's disk fails before anything is restored; "Keep Downloaded Set" keeps
 * the copy; each test leaves its restore-test record beside the set on the SFTP server; TOTVS
 * Restore recovers the set from there. The staging folder is the one Dump wrote to, so the tests
 * also prove the local original is neither reused (the remote copy is what gets tested) nor touched.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDataObject, INodeParameters } from 'n8n-workflow';
import { parseRestoreRecord, parseRestoreRecordName } from '../../core/restore-record';
import { SCRATCH_PREFIX } from '../../core/restore-shared/prefixes';
import { databaseNameFor } from '../../core/sources/postgres/restore/pg-restore';
import { TotvsPostgres } from '../../credentials/TotvsPostgres.credentials';
import { TotvsSftp } from '../../credentials/TotvsSftp.credentials';
import { TotvsRestore } from '../../nodes/TotvsRestore/TotvsRestore.node';
import { createProtheusDatabase, dropDatabase } from '../../support/fixtures/protheus-db';
import { daemonUnavailable } from '../../support/daemons';
import {
	MANUAL_TRIGGER_TYPE,
	PACKAGE_NAME,
	packageNodeTypes,
	runWorkflow,
	type HarnessCredential,
} from '../../support/n8n-engine';
import { sharedPostgres, uniqueName } from '../../support/shared-postgres';
import { sftpCredentialData, startSshd, type SshdServer } from '../../support/sshd';
import { credentialFor, DUMP_TYPE, runTotvsWorkflow, UPLOAD_TYPE, VERIFY_TYPE } from '../../support/totvs-workflow';

const RESTORE_TEST_TYPE = `${PACKAGE_NAME}.totvsRestoreTest`;
const RESTORE_TYPE = `${PACKAGE_NAME}.totvsRestore`;
const unavailable = daemonUnavailable('/usr/sbin/sshd', 'openssh-server');
const suite = unavailable ? describe.skip : describe;
if (unavailable) console.warn(`TOTVS Restore Test from a destination: skipped: ${unavailable}`);

const CHECK_NAMES = [
	'manifest',
	'artifacts',
	'archive',
	'restore',
	'encoding',
	'tables',
	'top-tables',
	'sys-tables',
	'procedures',
	'unq-indexes',
	'triggers',
	'row-counts',
	'max-recno',
	'duplicate-recno',
	'protheus-columns',
	'fingerprints',
	'freshness',
];

// Its own environment name: backup IDs (and so scratch database names) are made of the
// environment and the second, and other suites restore "prod" sets on the same server.
const ENV = 'offsite';
const server = sharedPostgres();
let database: string;
let staging: string;
let sshd: SshdServer;

const credentials = (): Record<string, HarnessCredential> => ({
	restore: { type: 'totvsPostgres', name: 'Restore server', data: credentialFor(server, 'postgres') },
	sftp: { type: 'totvsSftp', name: 'Offsite SFTP', data: sftpCredentialData(sshd) },
});

function restoreTestNode(parameters: INodeParameters = {}) {
	return {
		name: 'TOTVS Restore Test',
		type: RESTORE_TEST_TYPE,
		parameters: {
			setSource: 'destination',
			destination: 'sftp',
			environment: ENV,
			pick: 'latest',
			stagingFolder: staging,
			...parameters,
		},
		credentials: {
			totvsPostgres: { id: 'restore', name: 'Restore server' },
			totvsSftp: { id: 'sftp', name: 'Offsite SFTP' },
		},
	};
}

function chain(names: string[]) {
	return Object.fromEntries(
		names.slice(0, -1).map((name, i) => [name, { main: [[{ node: names[i + 1], type: 'main' as const, index: 0 }]] }]),
	);
}

/** Restore Test alone, from the SFTP server. */
function runRestoreTestAlone(parameters: INodeParameters = {}) {
	return runTotvsWorkflow(
		{
			nodes: [{ name: 'Start', type: MANUAL_TRIGGER_TYPE }, restoreTestNode(parameters)],
			connections: chain(['Start', 'TOTVS Restore Test']),
		},
		credentialFor(server, database),
		credentials(),
	);
}

/** TOTVS Restore (Restore Database) alone, from the SFTP server. */
function runRestoreAlone(parameters: INodeParameters) {
	return runWorkflow(
		{
			nodes: [
				{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
				{ ...restoreTestNode({ operation: 'database', ...parameters }), name: 'TOTVS Restore', type: RESTORE_TYPE },
			],
			connections: chain(['Start', 'TOTVS Restore']),
		},
		{
			nodeTypes: packageNodeTypes([new TotvsRestore()]),
			credentialTypes: [new TotvsPostgres(), new TotvsSftp()],
			credentials: credentials(),
		},
	);
}

/** The restore-test records of `backupId` on the SFTP server (file names), oldest first. */
const recordsOf = (backupId: string, outcome: 'passed' | 'failed') =>
	readdirSync(join(sshd.user.home, ENV))
		.filter((name) => name.startsWith(`${backupId}.restore-test-`) && name.includes(`-${outcome}-`))
		.sort();
const readRecord = (name: string) => parseRestoreRecord(readFileSync(join(sshd.user.home, ENV, name), 'utf8'), name);

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

async function databasesLike(pattern: string): Promise<string[]> {
	return (
		await server.admin<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', 'postgres', [
			pattern,
		])
	).map((r) => r.datname);
}

beforeAll(async () => {
	if (unavailable) return;
	database = uniqueName('restore_remote');
	await createProtheusDatabase(server, { name: database, scale: 30 });
	staging = mkdtempSync(join(tmpdir(), 'totvs-rt-remote-'));
	sshd = await startSshd();
});

afterAll(async () => {
	if (unavailable) return;
	await sshd?.stop();
	await dropDatabase(server, database);
	rmSync(staging, { recursive: true, force: true });
});

suite('TOTVS Restore Test from a destination, in n8n', () => {
	let uploaded: IDataObject;
	let localArtifacts: Array<{ path: string; sha256: string }>;

	/** The staging folder holds Dump's set and nothing else: no download left behind, the original untouched. */
	function expectStagingHoldsOnlyDumpSet() {
		const backupId = uploaded.backupId as string;
		expect(readdirSync(staging)).toEqual([ENV]);
		expect(readdirSync(join(staging, ENV))).toEqual([backupId]);
		for (const a of localArtifacts) expect(sha256(join(staging, ENV, backupId, a.path))).toBe(a.sha256);
	}

	it('runs Dump -> Verify -> Upload (SFTP) -> Restore Test (latest of the environment on SFTP): every check passes', async () => {
		const names = ['Start', 'TOTVS Dump', 'TOTVS Verify', 'Upload SFTP', 'TOTVS Restore Test'];
		const result = await runTotvsWorkflow(
			{
				nodes: [
					{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
					{
						name: 'TOTVS Dump',
						type: DUMP_TYPE,
						parameters: { environment: ENV, stagingFolder: staging },
						credentials: { totvsPostgres: { id: 'pg', name: 'Protheus PostgreSQL' } },
					},
					{ name: 'TOTVS Verify', type: VERIFY_TYPE, parameters: {} },
					{
						name: 'Upload SFTP',
						type: UPLOAD_TYPE,
						parameters: { destination: 'sftp', operation: 'upload' },
						credentials: { totvsSftp: { id: 'sftp', name: 'Offsite SFTP' } },
					},
					restoreTestNode(),
				],
				connections: chain(names),
			},
			credentialFor(server, database),
			credentials(),
		);
		expect(result.error).toBeUndefined();
		expect(result.executionOrder).toEqual(names);
		uploaded = result.jsonOf('Upload SFTP')[0];
		localArtifacts = uploaded.artifacts as Array<{ path: string; sha256: string }>;
		const backupId = uploaded.backupId as string;

		const [item] = result.jsonOf('TOTVS Restore Test');
		expect(result.outputOf('TOTVS Restore Test')[0].pairedItem).toEqual({ item: 0 });
		expect(item).toMatchObject({
			status: 'ok',
			backupId,
			environment: ENV,
			engine: 'postgres',
			totalBytes: uploaded.totalBytes,
		});
		const section = item.restoreTest as IDataObject;
		expect(section.passed).toBe(true);
		const checks = section.checks as Array<{ name: string; ok: boolean }>;
		expect(checks.map((c) => c.name)).toEqual(CHECK_NAMES);
		expect(checks.filter((c) => !c.ok)).toEqual([]);
		// Where it came from: the whole set really came over SFTP (nothing reused from Dump's copy).
		expect(section.source).toEqual({
			destination: `sftp://${sshd.user.name}@127.0.0.1:${sshd.port}`,
			remotePath: `${ENV}/${backupId}`,
			downloadedBytes: uploaded.totalBytes,
			downloadMs: expect.any(Number),
			verified: true,
			keptAt: null,
		});
		// The download was removed: the item's location stays the input item's (Dump's set), not the removed copy.
		expect(item.location).toBe(uploaded.location);
		expectStagingHoldsOnlyDumpSet();
		expect(await databasesLike(databaseNameFor(SCRATCH_PREFIX, backupId))).toEqual([]);

		// Issue 14: the test left its record beside the set on the SFTP server, for TOTVS Monitor.
		const [recordName] = recordsOf(backupId, 'passed');
		expect(parseRestoreRecordName(ENV, recordName)).toMatchObject({ testedId: backupId, outcome: 'passed' });
		expect(section.record).toEqual({
			destination: (section.source as IDataObject).destination,
			remotePath: `${ENV}/${recordName}`,
		});
		const record = readRecord(recordName);
		expect(record).toMatchObject({
			environment: ENV,
			testedId: backupId,
			backupIds: [backupId],
			engine: 'postgres',
			passed: true,
			fetchMs: (section.source as IDataObject).downloadMs,
			restoreMs: section.restoreMs,
			checksMs: section.checksMs,
			rtoMs: section.rtoMs,
			restoredBytes: section.restoredBytes,
			restoreServer: {
				engine: 'postgres',
				host: server.host,
				port: server.port,
				target: databaseNameFor(SCRATCH_PREFIX, backupId),
			},
			sourceDestination: `sftp://${sshd.user.name}@127.0.0.1:${sshd.port}`,
		});
		expect(record.checks.map((c) => [c.name, c.ok])).toEqual(CHECK_NAMES.map((name) => [name, true]));
		// The record sits beside the set folders and is no set: the next test's "latest" is the same set.
		expect(readdirSync(join(sshd.user.home, ENV)).filter((name) => !name.includes('.restore-test-'))).toEqual([
			backupId,
		]);
	});

	it('a byte flipped in the copy on the SFTP server fails before restoring, with a clear message', async () => {
		expect(uploaded).toBeDefined();
		const backupId = uploaded.backupId as string;
		const dump = localArtifacts.find((a) => a.path.endsWith('.dump')) ?? localArtifacts[0];
		const remoteFile = join(sshd.user.home, ENV, backupId, dump.path);
		const original = readFileSync(remoteFile);
		const damaged = Buffer.from(original);
		damaged[Math.floor(damaged.length / 2)] ^= 0xff;
		writeFileSync(remoteFile, damaged);
		try {
			const result = await runRestoreTestAlone();
			expect(result.error).toMatchObject({ name: 'NodeOperationError' });
			expect(result.error?.message).toMatch(
				new RegExp(
					`^Backup set ${backupId} downloaded from sftp://.* \\(${ENV}/${backupId}\\) failed verification, nothing was restored: .*${dump.path.replace(/[.]/g, '\\.')}`,
				),
			);
			expect((result.error as unknown as { description: string }).description).toMatch(
				/copy on the destination is damaged/,
			);
			// Nothing restored, nothing left behind, Dump's good local copy untouched.
			expect(result.logs.join('\n')).toMatch(new RegExp(`Downloaded .* of ${backupId} from sftp://`));
			expect(result.logs.join('\n')).not.toMatch(/Restoring /);
			expect(await databasesLike(databaseNameFor(SCRATCH_PREFIX, backupId))).toEqual([]);
			expectStagingHoldsOnlyDumpSet();

			// With Continue On Fail the item goes on, marked failed.
			const tolerant = await runTotvsWorkflow(
				{
					nodes: [
						{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
						{ ...restoreTestNode({ pick: 'backupId', backupId }), continueOnFail: true },
					],
					connections: chain(['Start', 'TOTVS Restore Test']),
				},
				credentialFor(server, database),
				credentials(),
			);
			expect(tolerant.error).toBeUndefined();
			const [item] = tolerant.jsonOf('TOTVS Restore Test');
			expect(item.status).toBe('failed');
			expect((item.error as IDataObject).message).toMatch(/failed verification, nothing was restored/);
			// A damaged copy is a failed restore test of that set: recorded when the set was asked for by ID.
			const [failedRecord] = recordsOf(backupId, 'failed');
			expect((item.restoreTest as IDataObject).record).toMatchObject({ remotePath: `${ENV}/${failedRecord}` });
			expect(readRecord(failedRecord)).toMatchObject({
				testedId: backupId,
				passed: false,
				restoreMs: 0,
				checks: [
					{ name: 'download', ok: false, actual: 'failed verification' },
					{ name: 'restore', ok: false, actual: 'not attempted' },
				],
			});
			expect(recordsOf(backupId, 'failed')).toHaveLength(1);
		} finally {
			writeFileSync(remoteFile, original);
		}
	});

	it('keeps the downloaded set when asked, in <staging>/<environment>/<backup ID>', async () => {
		expect(uploaded).toBeDefined();
		const backupId = uploaded.backupId as string;
		const elsewhere = mkdtempSync(join(tmpdir(), 'totvs-rt-keep-'));
		try {
			const result = await runRestoreTestAlone({
				pick: 'backupId',
				backupId,
				stagingFolder: elsewhere,
				options: { keepDownload: true },
			});
			expect(result.error).toBeUndefined();
			const [item] = result.jsonOf('TOTVS Restore Test');
			const kept = join(elsewhere, ENV, backupId);
			expect(item).toMatchObject({
				status: 'ok',
				location: kept,
				restoreTest: { passed: true, source: { remotePath: `${ENV}/${backupId}`, keptAt: kept } },
			});
			expect(readdirSync(elsewhere)).toEqual([ENV]);
			for (const a of localArtifacts) expect(sha256(join(kept, a.path))).toBe(a.sha256);
			expect(existsSync(join(kept, 'manifest.json'))).toBe(true);

			// Where Dump's own set of that ID already is, the kept download stays in its own folder.
			const again = await runRestoreTestAlone({ pick: 'backupId', backupId, options: { keepDownload: true } });
			expect(again.error).toBeUndefined();
			const keptAt = ((again.jsonOf('TOTVS Restore Test')[0].restoreTest as IDataObject).source as IDataObject)
				.keptAt as string;
			expect(keptAt).toMatch(new RegExp(`^${staging}/\\.restore-test-download-[^/]+/${ENV}/${backupId}$`));
			for (const a of localArtifacts) expect(sha256(join(keptAt, a.path))).toBe(a.sha256);
			rmSync(join(keptAt, '..', '..'), { recursive: true });
			expectStagingHoldsOnlyDumpSet();
		} finally {
			rmSync(elsewhere, { recursive: true, force: true });
		}
	});

	it('TOTVS Restore: restores the set from the destination into a named database', async () => {
		expect(uploaded).toBeDefined();
		const target = uniqueName('restored_remote');
		try {
			const result = await runRestoreAlone({ targetDatabase: target });
			expect(result.error).toBeUndefined();
			const [item] = result.jsonOf('TOTVS Restore');
			expect(item).toMatchObject({
				status: 'ok',
				backupId: uploaded.backupId,
				restore: {
					passed: true,
					database: target,
					replaced: false,
					source: { remotePath: `${ENV}/${uploaded.backupId}`, keptAt: null },
				},
			});
			// The RTO of a recovery from off-site: the download counts.
			const section = item.restore as { rtoMs: number; restoreMs: number; checksMs: number; source: IDataObject };
			expect(section.rtoMs).toBe((section.source.downloadMs as number) + section.restoreMs + section.checksMs);
			const count = async (db: string) =>
				Number((await server.admin<{ n: string }>('SELECT count(*) AS n FROM sa1010', db))[0].n);
			expect(await count(target)).toBe(await count(database));
			expectStagingHoldsOnlyDumpSet();
		} finally {
			await server.admin(`DROP DATABASE IF EXISTS ${target} WITH (FORCE)`);
		}
	});

	it('an environment with no set on the destination: a clear error, nothing left behind', async () => {
		const result = await runRestoreTestAlone({ environment: 'homolog' });
		expect(result.error?.message).toMatch(/^No complete backup set of environment homolog \(database\) on sftp:\/\//);
		expectStagingHoldsOnlyDumpSet();
	});
});
