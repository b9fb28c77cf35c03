/**
 * The nightly job sealed, inside a real n8n 2.x (the packed package installed as a community
 * package): Manual Trigger -> TOTVS Dump (Encrypt and Sign; the backup host's TOTVS Backup Keys
 * hold public keys and the signing key only) -> TOTVS Verify (Use Backup Keys, public keys) ->
 * TOTVS Upload (SFTP) -> TOTVS Restore Test "From a Destination" with the restore host's keys
 * (identity + trusted signing key). On the SFTP server's disk: no artifact contains a customer
 * name of the fixture, files are 0600 and folders 0700, and the reference `age` CLI decrypts
 * the dump we wrote.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateAgeIdentity } from '../../core/sealing';
import { daemonUnavailable } from '../../support/daemons';
import { ACCENTED_CUSTOMER_NAMES } from '../../support/fixtures/protheus-db';
import type { N8nInstance } from '../../support/n8n-env';
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

const unavailable =
	daemonUnavailable('/usr/sbin/sshd', 'openssh-server') ??
	(spawnSync('age', ['--version']).status === 0 ? undefined : 'the age CLI is not installed (apt-get install age)');
const suite = unavailable ? describe.skip : describe;
if (unavailable) console.warn(`e2e sealed: skipped: ${unavailable}`);

const ENV = 'e2e-sealed';
const SOURCE_CREDENTIAL = 'E2eSealSource001';
const RESTORE_CREDENTIAL = 'E2eSealRestore01';
const SFTP_CREDENTIAL = 'E2eSealSftp00001';
const BACKUP_KEYS = 'E2eSealKeysBkp01';
const RESTORE_KEYS = 'E2eSealKeysRst01';
const NAMES = ['Start', 'TOTVS Dump', 'TOTVS Verify', 'Upload to SFTP', 'TOTVS Restore Test'];

const owner = generateAgeIdentity();
const signing = generateKeyPairSync('ed25519');
const signingKey = signing.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const signingPublic = signing.publicKey.export({ format: 'pem', type: 'spki' }).toString();

let instance: N8nInstance;
let source: ProtheusSource;
let sftp: SftpDestination;

const workflow: WorkflowJson = {
	id: 'E2eSealedNightly',
	name: 'e2e sealed dump verify upload restore-test',
	active: false,
	nodes: [
		{ name: 'Start', type: 'n8n-nodes-base.manualTrigger', parameters: {} },
		{
			name: 'TOTVS Dump',
			type: DUMP_TYPE,
			parameters: { source: 'postgres', environment: ENV, stagingFolder: '', encryptAndSign: true, options: {} },
			credentials: {
				totvsPostgres: { id: SOURCE_CREDENTIAL, name: 'Protheus PostgreSQL' },
				totvsBackupKeys: { id: BACKUP_KEYS, name: 'Backup host keys' },
			},
		},
		{
			name: 'TOTVS Verify',
			type: VERIFY_TYPE,
			parameters: { setFolder: '={{ $json.location }}', useBackupKeys: true, options: {} },
			credentials: { totvsBackupKeys: { id: BACKUP_KEYS, name: 'Backup host keys' } },
		},
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
				useBackupKeys: true,
				options: {},
			},
			credentials: {
				totvsPostgres: { id: RESTORE_CREDENTIAL, name: 'Restore server' },
				totvsSftp: { id: SFTP_CREDENTIAL, name: 'Offsite SFTP' },
				totvsBackupKeys: { id: RESTORE_KEYS, name: 'Restore host keys' },
			},
		},
	].map((node, i) => ({ id: `e2e-sealed-${i}`, typeVersion: 1, position: [i * 220, 0], ...node })),
	connections: Object.fromEntries(
		NAMES.slice(0, -1).map((name, i) => [name, { main: [[{ node: NAMES[i + 1], type: 'main', index: 0 }]] }]),
	),
	settings: { executionOrder: 'v1' },
};

beforeAll(async () => {
	if (unavailable) return;
	[instance, source, sftp] = await Promise.all([
		freshInstance('sealed'),
		createProtheusSource('e2e_seal'),
		startSftpDestination(),
	]);
	await importCredentials(instance, [
		source.credential(SOURCE_CREDENTIAL, 'Protheus PostgreSQL'),
		restoreServerCredential(RESTORE_CREDENTIAL, 'Restore server'),
		sftp.credential(SFTP_CREDENTIAL, 'Offsite SFTP'),
		{
			id: BACKUP_KEYS,
			name: 'Backup host keys',
			type: 'totvsBackupKeys',
			data: { recipients: owner.recipient, signingKey },
		},
		{
			id: RESTORE_KEYS,
			name: 'Restore host keys',
			type: 'totvsBackupKeys',
			data: { identity: owner.identity, trustedKeys: signingPublic },
		},
	]);
	await importWorkflow(instance, workflow);
});

afterAll(async () => {
	if (unavailable) return;
	printTimings('sealed.e2e.ts');
	await sftp?.stop();
	await source?.drop();
	if (instance) rmSync(instance.userFolder, { recursive: true, force: true });
});

function filesUnder(dir: string): string[] {
	return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
		e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)],
	);
}

suite('sealed: Dump -> Verify -> Upload (SFTP) -> Restore Test (from SFTP) in a real n8n', () => {
	it('uploads only ciphertext, private, that age decrypts; the restore test decrypts it back and passes', async () => {
		const execution = await executeWorkflow(instance, workflow);
		const run = succeeded(execution);
		for (const name of NAMES.slice(1)) expect(nodeOutputs(run, name).map((items) => items.length)).toEqual([1]);
		const [[verified]] = nodeOutputs(run, 'TOTVS Verify');
		expect(verified).toMatchObject({ status: 'ok', environment: ENV });
		const backupId = verified.backupId as string;

		// On the SFTP server's disk: age files, a public manifest and its signature; no customer name.
		const remoteSet = path.join(sftp.sshd.user.home, ENV, backupId);
		const names = readdirSync(remoteSet).sort();
		expect(names).toEqual(
			['manifest.json', 'manifest.json.sig', 'manifest.sealed.json.age', expect.stringMatching(/\.dump\.age$/)].sort(),
		);
		for (const file of filesUnder(remoteSet)) {
			const content = readFileSync(file);
			for (const customer of ACCENTED_CUSTOMER_NAMES)
				expect([path.basename(file), content.includes(Buffer.from(customer, 'utf8'))]).toEqual([
					path.basename(file),
					false,
				]);
			expect([path.basename(file), (statSync(file).mode & 0o777).toString(8)]).toEqual([path.basename(file), '600']);
		}
		expect((statSync(remoteSet).mode & 0o777).toString(8)).toBe('700');

		// The reference age CLI decrypts what we wrote, and it is a pg_dump custom archive.
		const key = path.join(os.tmpdir(), `e2e-sealed-key-${process.pid}.txt`);
		writeFileSync(key, `${owner.identity}\n`, { mode: 0o600 });
		try {
			const dump = names.find((n) => n.endsWith('.dump.age'))!;
			const decrypted = spawnSync('age', ['-d', '-i', key, path.join(remoteSet, dump)], { maxBuffer: 1 << 30 });
			expect(decrypted.status).toBe(0);
			expect(decrypted.stdout.subarray(0, 5).toString()).toBe('PGDMP');
		} finally {
			rmSync(key, { force: true });
		}

		// Restore Test: the SFTP copy was downloaded, its signature checked, decrypted on the fly, restored.
		const [[tested]] = nodeOutputs(run, 'TOTVS Restore Test');
		const section = tested.restoreTest as { passed: boolean; checks: Array<{ name: string; ok: boolean }> };
		expect(section.checks.filter((c) => !c.ok)).toEqual([]);
		expect(section.passed).toBe(true);
		expect(section.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['decrypted', 'restore', 'row-counts']));

		// No key in what n8n printed.
		const printed = execution.stdout + execution.stderr;
		expect(printed).not.toContain(owner.identity);
		expect(printed).not.toContain(signingKey.split('\n')[1]);
	});
});
