/**
 * The whole nightly job inside a real n8n 2.x (the packed package installed as a community
 * package), driven by n8n's CLI: Manual Trigger -> TOTVS Dump -> TOTVS Verify -> TOTVS Upload
 * (SFTP: OpenSSH sshd on loopback, host key pinned) -> TOTVS Restore Test "From a Destination"
 * (the latest set of the environment, downloaded back from the SFTP server, verified, restored
 * into a scratch database on the shared PostgreSQL and checked like a TOTVS DBA would).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { SCRATCH_PREFIX } from '../../core/restore-shared/prefixes';
import { databaseNameFor } from '../../core/sources/postgres/restore/pg-restore';
import type { N8nInstance } from '../../support/n8n-env';
import { daemonUnavailable } from '../../support/daemons';
import { sharedPostgres } from '../../support/shared-postgres';
import {
	executeWorkflow,
	freshInstance,
	importCredentials,
	importWorkflow,
	nodeOutputs,
	printTimings,
	succeeded,
	type WorkflowJson,
} from './n8n-cli';
import { DUMP_TYPE, RESTORE_TEST_TYPE, UPLOAD_TYPE, VERIFY_TYPE } from './node-types';
import {
	createProtheusSource,
	restoreServerCredential,
	startSftpDestination,
	type ProtheusSource,
	type SftpDestination,
} from './sources';

const unavailable = daemonUnavailable('/usr/sbin/sshd', 'openssh-server');
const suite = unavailable ? describe.skip : describe;
if (unavailable) console.warn(`e2e Upload -> Restore Test: skipped: ${unavailable}`);

// Its own environment: backup IDs (and so scratch database names) are environment + second.
const ENV = 'e2e-offsite';
const SOURCE_CREDENTIAL = 'E2eUpRtSource001';
const RESTORE_CREDENTIAL = 'E2eUpRtRestore01';
const SFTP_CREDENTIAL = 'E2eUpRtSftp00001';
const NAMES = ['Start', 'TOTVS Dump', 'TOTVS Verify', 'Upload to SFTP', 'TOTVS Restore Test'];

let instance: N8nInstance;
let source: ProtheusSource;
let sftp: SftpDestination;

const workflow: WorkflowJson = {
	id: 'E2eUploadRestore',
	name: 'e2e dump verify upload restore-test',
	active: false,
	nodes: [
		{ name: 'Start', type: 'n8n-nodes-base.manualTrigger', parameters: {} },
		{
			name: 'TOTVS Dump',
			type: DUMP_TYPE,
			parameters: { source: 'postgres', environment: ENV, stagingFolder: '', options: {} },
			credentials: { totvsPostgres: { id: SOURCE_CREDENTIAL, name: 'Protheus PostgreSQL' } },
		},
		{ name: 'TOTVS Verify', type: VERIFY_TYPE, parameters: { setFolder: '={{ $json.location }}', options: {} } },
		{
			name: 'Upload to SFTP',
			type: UPLOAD_TYPE,
			parameters: { destination: 'sftp', operation: 'upload', options: {} },
			credentials: { totvsSftp: { id: SFTP_CREDENTIAL, name: 'Offsite SFTP' } },
		},
		{
			name: 'TOTVS Restore Test',
			type: RESTORE_TEST_TYPE,
			parameters: {
				setSource: 'destination',
				destination: 'sftp',
				environment: ENV,
				pick: 'latest',
				stagingFolder: '',
				options: { htmlReport: true },
			},
			credentials: {
				totvsPostgres: { id: RESTORE_CREDENTIAL, name: 'Restore server' },
				totvsSftp: { id: SFTP_CREDENTIAL, name: 'Offsite SFTP' },
			},
		},
	].map((node, i) => ({ id: `e2e-up-rt-${i}`, typeVersion: 1, position: [i * 220, 0], ...node })),
	connections: Object.fromEntries(
		NAMES.slice(0, -1).map((name, i) => [name, { main: [[{ node: NAMES[i + 1], type: 'main', index: 0 }]] }]),
	),
	settings: { executionOrder: 'v1' },
};

async function sha256(file: string): Promise<string> {
	const hash = createHash('sha256');
	for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
	return hash.digest('hex');
}

beforeAll(async () => {
	if (unavailable) return;
	[instance, source, sftp] = await Promise.all([
		freshInstance('upload-restore'),
		createProtheusSource('e2e_up'),
		startSftpDestination(),
	]);
	await importCredentials(instance, [
		source.credential(SOURCE_CREDENTIAL, 'Protheus PostgreSQL'),
		restoreServerCredential(RESTORE_CREDENTIAL, 'Restore server'),
		sftp.credential(SFTP_CREDENTIAL, 'Offsite SFTP'),
	]);
	await importWorkflow(instance, workflow);
});

afterAll(async () => {
	if (unavailable) return;
	printTimings('upload-restore.e2e.ts');
	await sftp?.stop();
	await source?.drop();
	if (instance) rmSync(instance.userFolder, { recursive: true, force: true });
});

suite('Dump -> Verify -> Upload (SFTP) -> Restore Test (from SFTP) in a real n8n', () => {
	it('uploads the verified set, downloads it back, restores it and passes every check', async () => {
		const execution = await executeWorkflow(instance, workflow);
		const run = succeeded(execution);
		for (const name of NAMES.slice(1)) expect(nodeOutputs(run, name).map((items) => items.length)).toEqual([1]);

		const [[verified]] = nodeOutputs(run, 'TOTVS Verify');
		expect(verified).toMatchObject({ status: 'ok', environment: ENV });
		const backupId = verified.backupId as string;

		// Upload: the set is on the SFTP server, byte for byte, in <environment>/<backup ID>.
		const [[uploaded]] = nodeOutputs(run, 'Upload to SFTP');
		expect(uploaded).toMatchObject({
			status: 'ok',
			backupId,
			environment: ENV,
			location: verified.location,
			totalBytes: verified.totalBytes,
		});
		const remoteSet = path.join(sftp.sshd.user.home, ENV, backupId);
		const artifacts = verified.artifacts as Array<{ path: string; bytes: number; sha256: string }>;
		expect(artifacts.length).toBeGreaterThan(0);
		expect(readdirSync(remoteSet)).toEqual(
			expect.arrayContaining(['manifest.json', ...artifacts.map((a) => a.path.split('/')[0])]),
		);
		for (const artifact of artifacts) expect(await sha256(path.join(remoteSet, artifact.path))).toBe(artifact.sha256);

		// Restore Test: the copy on the SFTP server (not Dump's local set) was downloaded, verified and restored.
		const [[tested]] = nodeOutputs(run, 'TOTVS Restore Test');
		expect(tested).toMatchObject({
			status: 'ok',
			backupId,
			environment: ENV,
			engine: 'postgres',
			database: source.database,
			totalBytes: verified.totalBytes,
		});
		const section = tested.restoreTest as {
			passed: boolean;
			checks: Array<{ name: string; ok: boolean }>;
			source: Record<string, unknown>;
		};
		expect(section.passed).toBe(true);
		expect(section.checks.length).toBeGreaterThan(10);
		expect(section.checks.filter((c) => !c.ok)).toEqual([]);
		expect(section.checks.map((c) => c.name)).toEqual(
			expect.arrayContaining(['restore', 'row-counts', 'max-recno', 'duplicate-recno', 'fingerprints']),
		);
		expect(section.source).toMatchObject({
			destination: `sftp://${sftp.sshd.user.name}@127.0.0.1:${sftp.sshd.port}`,
			remotePath: `${ENV}/${backupId}`,
			downloadedBytes: verified.totalBytes,
			verified: true,
			keptAt: null,
		});
		expect(tested.summary).toEqual(expect.any(String));

		// The scratch database is gone and Dump's local set is still there.
		const scratch = databaseNameFor(SCRATCH_PREFIX, backupId);
		expect(await sharedPostgres().admin('SELECT 1 FROM pg_database WHERE datname = $1', 'postgres', [scratch])).toEqual(
			[],
		);
		expect(existsSync(verified.manifestPath as string)).toBe(true);

		// No secret in what n8n printed.
		const printed = execution.stdout + execution.stderr;
		expect(printed).not.toContain(source.password);
		expect(printed).not.toContain(sftp.sshd.clientKeyPassphrase);
		expect(printed).not.toContain(sharedPostgres().password);
	});
});
