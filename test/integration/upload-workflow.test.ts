/**
 * TOTVS Upload inside n8n's real engine: Manual Trigger -> Dump -> Verify -> Upload (SFTP) ->
 * Upload (FTPS) -> Upload (Google Drive emulator), against OpenSSH sshd and vsftpd on loopback
 * and the Drive v3 emulator; then List, Download (+ Verify) and Prune from those destinations,
 * and the three credentials' Test buttons.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ICredentialDataDecryptedObject, ICredentialTestFunctions, IDataObject } from 'n8n-workflow';
import { TotvsUpload } from '../../nodes/TotvsUpload/TotvsUpload.node';
import { createProtheusDatabase, dropDatabase } from '../../support/fixtures/protheus-db';
import { daemonUnavailable } from '../../support/daemons';
import { startDriveEmulator, type DriveEmulator } from '../../support/drive-emulator';
import { MANUAL_TRIGGER_TYPE, type HarnessCredential } from '../../support/n8n-engine';
import { sharedPostgres, uniqueName } from '../../support/shared-postgres';
import { sftpCredentialData, startSshd, type SshdServer } from '../../support/sshd';
import { DUMP_TYPE, UPLOAD_TYPE, VERIFY_TYPE, credentialFor, runTotvsWorkflow } from '../../support/totvs-workflow';
import { startVsftpd, vsftpdUnavailable, type VsftpdServers } from '../../support/vsftpd';

const unavailable = daemonUnavailable('/usr/sbin/sshd', 'openssh-server') ?? vsftpdUnavailable();
const suite = unavailable ? describe.skip : describe;
if (unavailable) console.warn(`TOTVS Upload workflow: skipped: ${unavailable}`);

const server = sharedPostgres();
let database: string;
let staging: string;
let sshd: SshdServer;
let ftp: VsftpdServers;
let drive: DriveEmulator;
let serviceAccountJson: string;
const clientEmail = 'backup@totvs-test.iam.gserviceaccount.com';

const sftpData = (): ICredentialDataDecryptedObject => sftpCredentialData(sshd);
const ftpData = (): ICredentialDataDecryptedObject => ({
	host: ftp.host,
	port: ftp.explicit.port,
	tls: 'explicit',
	username: ftp.user.name,
	password: ftp.user.password,
	caPem: ftp.certPem,
	serverFingerprint: '',
	folder: '',
});
const driveData = (): ICredentialDataDecryptedObject => ({
	authentication: 'serviceAccount',
	serviceAccountJson,
	subject: '',
	folderId: drive.rootFolderId,
	customEndpoints: true,
	apiBaseUrl: drive.url,
	tokenUrl: drive.tokenUrl,
});
const destinationCredentials = (): Record<string, HarnessCredential> => ({
	sftp: { type: 'totvsSftp', name: 'Offsite SFTP', data: sftpData() },
	ftp: { type: 'totvsFtp', name: 'Offsite FTPS', data: ftpData() },
	gdrive: { type: 'totvsGoogleDriveApi', name: 'Drive', data: driveData() },
});
const CREDENTIAL_REF = {
	sftp: { totvsSftp: { id: 'sftp', name: 'Offsite SFTP' } },
	ftp: { totvsFtp: { id: 'ftp', name: 'Offsite FTPS' } },
	googleDrive: { totvsGoogleDriveApi: { id: 'gdrive', name: 'Drive' } },
};

function uploadNode(name: string, destination: keyof typeof CREDENTIAL_REF, parameters: IDataObject = {}) {
	return {
		name,
		type: UPLOAD_TYPE,
		parameters: { destination, operation: 'upload', ...parameters },
		credentials: CREDENTIAL_REF[destination],
	};
}

function chain(names: string[]) {
	return Object.fromEntries(
		names.slice(0, -1).map((name, i) => [name, { main: [[{ node: names[i + 1], type: 'main' as const, index: 0 }]] }]),
	);
}

beforeAll(async () => {
	if (unavailable) return;
	database = uniqueName('upload_wf');
	await createProtheusDatabase(server, { name: database, scale: 30 });
	staging = mkdtempSync(join(tmpdir(), 'totvs-upload-wf-'));
	sshd = await startSshd();
	ftp = await startVsftpd();
	const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
	serviceAccountJson = JSON.stringify({
		type: 'service_account',
		client_email: clientEmail,
		private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
	});
	drive = await startDriveEmulator({
		serviceAccount: { clientEmail, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string },
	});
});

afterAll(async () => {
	if (unavailable) return;
	await drive?.stop();
	await ftp?.stop();
	await sshd?.stop();
	await dropDatabase(server, database);
	rmSync(staging, { recursive: true, force: true });
});

suite('TOTVS Upload in n8n', () => {
	let uploaded: IDataObject;

	it('runs Dump -> Verify -> Upload (SFTP) -> Upload (FTPS) -> Upload (Drive emulator)', async () => {
		const names = ['Start', 'TOTVS Dump', 'TOTVS Verify', 'Upload SFTP', 'Upload FTPS', 'Upload Drive'];
		const result = await runTotvsWorkflow(
			{
				nodes: [
					{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
					{
						name: 'TOTVS Dump',
						type: DUMP_TYPE,
						parameters: { environment: 'prod', stagingFolder: staging },
						credentials: { totvsPostgres: { id: 'pg', name: 'Protheus PostgreSQL' } },
					},
					{ name: 'TOTVS Verify', type: VERIFY_TYPE, parameters: {} },
					uploadNode('Upload SFTP', 'sftp'),
					// vsftpd offers no HASH command: ask for a read-back so the copy is proven, not just sized
					uploadNode('Upload FTPS', 'ftp', { options: { readBack: true } }),
					uploadNode('Upload Drive', 'googleDrive', { options: { language: 'pt-BR' } }),
				],
				connections: chain(names),
			},
			credentialFor(server, database),
			destinationCredentials(),
		);
		expect(result.error).toBeUndefined();
		expect(result.executionOrder).toEqual(names);
		const [item] = result.jsonOf('Upload Drive');
		expect(result.outputOf('Upload Drive')[0].pairedItem).toEqual({ item: 0 });
		uploaded = item;
		const backupId = item.backupId as string;
		// Passed through from Dump and Verify, one entry appended per upload
		expect(item).toMatchObject({ status: 'ok', environment: 'prod', verification: { ok: true } });
		const uploads = item.uploads as Array<IDataObject>;
		expect(uploads.map((u) => [String(u.destination).split(':')[0], u.remotePath, u.verified, u.verifiedBy])).toEqual([
			['sftp', `prod/${backupId}`, true, 'sha256'],
			['ftpes', `prod/${backupId}`, true, 'read-back'],
			['gdrive', `prod/${backupId}`, true, 'sha256'],
		]);
		for (const u of uploads) expect(u).toMatchObject({ bytes: item.totalBytes, durationMs: expect.any(Number) });
		expect(item.summary).toMatch(
			new RegExp(`^Backup ${backupId} enviado para gdrive://.*conferido por SHA-256 remoto\\.$`),
		);

		// The bytes really are there: on the SFTP and FTP servers' disks and in the emulator.
		const artifacts = item.artifacts as Array<{ path: string; sha256: string }>;
		for (const home of [sshd.user.home, ftp.user.home]) {
			for (const a of artifacts)
				expect(
					createHash('sha256')
						.update(readFileSync(join(home, 'prod', backupId, a.path)))
						.digest('hex'),
				).toBe(a.sha256);
			expect(JSON.parse(readFileSync(join(home, 'prod', backupId, 'manifest.json'), 'utf8')).backupId).toBe(backupId);
		}
		const driveFiles = drive.files().filter((f) => !f.trashed);
		for (const a of artifacts)
			expect(driveFiles.find((f) => f.name === a.path.split('/').pop())?.sha256Checksum).toBe(a.sha256);
		expect(driveFiles.some((f) => f.name === 'manifest.json')).toBe(true);
		expect(driveFiles.filter((f) => f.name.includes('lock'))).toEqual([]);

		// No secret in the logs
		const logs = result.logs.join('\n');
		for (const secret of [ftp.user.password, sshd.clientKeyPassphrase, 'PRIVATE KEY'])
			expect(logs).not.toContain(secret);
	});

	it('lists, downloads (then verifies) and prunes (dry run) from the destinations', async () => {
		expect(uploaded).toBeDefined();
		const backupId = uploaded.backupId as string;
		const download = mkdtempSync(join(tmpdir(), 'totvs-download-wf-'));
		try {
			const run = (nodes: IDataObject[]) =>
				runTotvsWorkflow(
					{
						nodes: [{ name: 'Start', type: MANUAL_TRIGGER_TYPE }, ...(nodes as never[])],
						connections: chain(['Start', ...nodes.map((n) => n.name as string)]),
					},
					credentialFor(server, database),
					destinationCredentials(),
				);

			const listed = await run([
				{
					name: 'List',
					type: UPLOAD_TYPE,
					parameters: { destination: 'sftp', operation: 'list', environment: '' },
					credentials: CREDENTIAL_REF.sftp,
				},
			]);
			expect(listed.error).toBeUndefined();
			expect(listed.jsonOf('List')).toEqual([
				expect.objectContaining({
					backupId,
					environment: 'prod',
					type: 'full',
					remoteStatus: 'complete',
					totalBytes: uploaded.totalBytes,
					remotePath: `prod/${backupId}`,
					status: 'ok',
				}),
			]);

			const fetched = await run([
				{
					name: 'Download',
					type: UPLOAD_TYPE,
					parameters: {
						destination: 'ftp',
						operation: 'download',
						environment: 'prod',
						backupId: 'latest',
						stagingFolder: download,
					},
					credentials: CREDENTIAL_REF.ftp,
				},
				{ name: 'Verify', type: VERIFY_TYPE, parameters: {} },
			]);
			expect(fetched.error).toBeUndefined();
			const [item] = fetched.jsonOf('Verify');
			expect(item).toMatchObject({
				backupId,
				status: 'ok',
				location: join(download, 'prod', backupId),
				totalBytes: uploaded.totalBytes,
				download: { remotePath: `prod/${backupId}`, bytes: uploaded.totalBytes },
				verification: { ok: true },
			});

			const pruned = await run([
				{
					name: 'Prune',
					type: UPLOAD_TYPE,
					parameters: {
						destination: 'googleDrive',
						operation: 'prune',
						environment: 'prod',
						keepLast: 1,
						keepDaily: 0,
						keepWeekly: 0,
						keepMonthly: 0,
						minimumAgeDays: 0,
					},
					credentials: CREDENTIAL_REF.googleDrive,
				},
			]);
			expect(pruned.error).toBeUndefined();
			expect(pruned.jsonOf('Prune')[0]).toMatchObject({
				status: 'ok',
				prune: {
					dryRun: true,
					deleteCount: 0,
					keepCount: 1,
					deleted: [],
					kept: [expect.objectContaining({ backupId, rules: ['newest-verified-full', 'last'] })],
				},
			});
		} finally {
			rmSync(download, { recursive: true, force: true });
		}
	});

	it('fails clearly on a host key mismatch, and passes the item on as failed with Continue On Fail', async () => {
		const credentials = destinationCredentials();
		credentials.sftp.data = { ...credentials.sftp.data, hostFingerprint: sshd.otherHostKeySha256 };
		const result = await runTotvsWorkflow(
			{
				nodes: [
					{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
					{ ...uploadNode('Upload SFTP', 'sftp', { setFolder: uploaded.location as string }), continueOnFail: true },
				],
				connections: chain(['Start', 'Upload SFTP']),
			},
			credentialFor(server, database),
			credentials,
		);
		expect(result.error).toBeUndefined();
		const [item] = result.jsonOf('Upload SFTP');
		expect(item.status).toBe('failed');
		expect((item.error as IDataObject).message).toContain(sshd.otherHostKeySha256.replace(/^SHA256:/, ''));
	});
});

suite('destination credential tests', () => {
	const node = new TotvsUpload();
	const test = (name: keyof typeof node.methods.credentialTest, type: string, data: ICredentialDataDecryptedObject) =>
		node.methods.credentialTest[name].call({} as ICredentialTestFunctions, { id: 'c', name: 'c', type, data });

	it('are the tests the node declares for its credentials', () => {
		expect(node.description.credentials).toEqual([
			expect.objectContaining({ name: 'totvsSftp', testedBy: 'totvsSftpConnectionTest' }),
			expect.objectContaining({ name: 'totvsFtp', testedBy: 'totvsFtpConnectionTest' }),
			expect.objectContaining({ name: 'totvsGoogleDriveApi', testedBy: 'totvsGoogleDriveConnectionTest' }),
			// OAuth2 ("Sign in with Google"): n8n tests it by the sign-in, see test/unit/drive-oauth2-credential.test.ts
			expect.objectContaining({ name: 'totvsGoogleDriveOAuth2Api' }),
			// Keys for sealed sets (signature checks on Download and List), tested by their own parse
			expect.objectContaining({ name: 'totvsBackupKeys', testedBy: 'totvsBackupKeysTest' }),
		]);
	});

	it('SFTP: connects, names the pinned host key, writes a test file; refuses another key', async () => {
		const ok = await test('totvsSftpConnectionTest', 'totvsSftp', sftpData());
		expect(ok).toEqual({
			status: 'OK',
			message: expect.stringMatching(
				new RegExp(
					`^Connected to sftp://${sshd.user.name}@127\\.0\\.0\\.1:${sshd.port}.*host key ${sshd.hostKeySha256.replace(/[+/]/g, '\\$&')} matches.*a test file was written and deleted$`,
				),
			),
		});
		const wrong = await test('totvsSftpConnectionTest', 'totvsSftp', {
			...sftpData(),
			hostFingerprint: sshd.otherHostKeySha256,
		});
		expect(wrong.status).toBe('Error');
		expect(wrong.message).toContain(sshd.hostKeySha256.replace(/^SHA256:/, '')); // shows the key the server presented
		const badPassword = await test('totvsSftpConnectionTest', 'totvsSftp', {
			...sftpData(),
			authentication: 'password',
			password: 'not-the-password',
		});
		expect(badPassword.status).toBe('Error');
		expect(badPassword.message).not.toContain('not-the-password');
	});

	it('FTPS: connects with the trusted certificate; refuses a server it cannot validate', async () => {
		const ok = await test('totvsFtpConnectionTest', 'totvsFtp', ftpData());
		expect(ok).toEqual({
			status: 'OK',
			message: expect.stringMatching(
				/^Connected to ftpes:\/\/.* over TLS \(explicit\); certificate validated; .*a test file was written and deleted$/,
			),
		});
		const untrusted = await test('totvsFtpConnectionTest', 'totvsFtp', { ...ftpData(), caPem: ftp.otherCertPem });
		expect(untrusted.status).toBe('Error');
		expect(untrusted.message).toContain(ftp.certSha256.slice(0, 8)); // shows what the server presented
	});

	it('Google Drive: gets a token with the service account and writes in the folder; rejects a broken key without echoing it', async () => {
		const ok = await test('totvsGoogleDriveConnectionTest', 'totvsGoogleDriveApi', driveData());
		expect(ok).toEqual({ status: 'OK', message: expect.stringContaining(`as service account ${clientEmail}`) });
		const broken = await test('totvsGoogleDriveConnectionTest', 'totvsGoogleDriveApi', {
			...driveData(),
			serviceAccountJson: '{"private_key": "-----BEGIN PRIVATE KEY----- secret',
		});
		expect(broken).toEqual({
			status: 'Error',
			message: expect.stringMatching(/^The service account key is not valid JSON/),
		});
		expect(broken.message).not.toContain('secret');
	});
});
