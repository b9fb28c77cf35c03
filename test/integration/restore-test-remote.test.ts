/**
 * TOTVS Restore Test "From a Destination" inside n8n's real engine: Manual Trigger -> Dump ->
 * Verify -> Upload (SFTP, OpenSSH sshd on loopback) -> Restore Test of the latest set of the
 * environment on that SFTP server, downloaded and verified first. Then: a byte flipped in the
 * copy on the SFTP server's disk fails before anything is restored; "Keep Downloaded Set" keeps
 * the copy. The staging folder is the one Dump wrote to, so the tests also prove the local
 * original is neither reused (the remote copy is what gets tested) nor touched.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDataObject, INodeParameters } from 'n8n-workflow';
import { SCRATCH_PREFIX } from '../../core/restore-shared/prefixes';
import { databaseNameFor } from '../../core/sources/postgres/restore/pg-restore';
import { createProtheusDatabase, dropDatabase } from '../../support/fixtures/protheus-db';
import { daemonUnavailable } from '../../support/daemons';
import { MANUAL_TRIGGER_TYPE, PACKAGE_NAME, type HarnessCredential } from '../../support/n8n-engine';
import { sharedPostgres, uniqueName } from '../../support/shared-postgres';
import { sftpCredentialData, startSshd, type SshdServer } from '../../support/sshd';
import { credentialFor, DUMP_TYPE, runTotvsWorkflow, UPLOAD_TYPE, VERIFY_TYPE } from '../../support/totvs-workflow';

const RESTORE_TEST_TYPE = `${PACKAGE_NAME}.totvsRestoreTest`;
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

	it('Restore operation: restores the set from the destination into a named database', async () => {
		expect(uploaded).toBeDefined();
		const target = uniqueName('restored_remote');
		try {
			const result = await runRestoreTestAlone({ operation: 'restore', targetDatabase: target });
			expect(result.error).toBeUndefined();
			const [item] = result.jsonOf('TOTVS Restore Test');
			expect(item).toMatchObject({
				status: 'ok',
				restore: {
					passed: true,
					database: target,
					replaced: false,
					source: { remotePath: `${ENV}/${uploaded.backupId}`, keptAt: null },
				},
			});
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
