/**
 * TOTVS Dump's "Send While Dumping" inside n8n's real engine, against the real PostgreSQL server
 * and OpenSSH sshd: a sealed dump is sent to the SFTP server under partial names while pg_dump
 * writes it (nothing with a final name, no manifest); TOTVS Verify then TOTVS Upload to the same
 * SFTP credential prove each partial by SHA-256 and rename it, manifest last, so the set is
 * complete there. With the switch off nothing reaches the server before the upload.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDataObject, INodeParameters } from 'n8n-workflow';
import { parseSetKeys } from '../../../core/backup-set/set-keys';
import { partialName } from '../../../core/destinations';
import { generateAgeIdentity } from '../../../core/sealing';
import { TotvsBackupKeys } from '../../../credentials/TotvsBackupKeys.credentials';
import { TotvsPostgres } from '../../../credentials/TotvsPostgres.credentials';
import { TotvsSftp } from '../../../credentials/TotvsSftp.credentials';
import { TotvsDump } from '../../../nodes/TotvsDump/TotvsDump.node';
import { TotvsUpload } from '../../../nodes/TotvsUpload/TotvsUpload.node';
import { TotvsVerify } from '../../../nodes/TotvsVerify/TotvsVerify.node';
import { createProtheusDatabase, dropDatabase } from '../../../support/fixtures/protheus-db';
import { daemonUnavailable } from '../../../support/daemons';
import { MANUAL_TRIGGER_TYPE, packageNodeTypes, runWorkflow } from '../../../support/n8n-engine';
import { sharedPostgres, uniqueName } from '../../../support/shared-postgres';
import { sftpCredentialData, startSshd, type SshdServer } from '../../../support/sshd';
import { credentialFor, DUMP_TYPE, UPLOAD_TYPE, VERIFY_TYPE } from '../../../support/totvs-workflow';

const unavailable = daemonUnavailable('/usr/sbin/sshd', 'openssh-server');
const suite = unavailable ? describe.skip : describe;
if (unavailable) console.warn(`Send While Dumping: skipped: ${unavailable}`);

const server = sharedPostgres();
const signingKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const keys = {
	recipients: generateAgeIdentity().recipient,
	signingKey,
	trustedKeys: parseSetKeys({ signingKey }).signingKey!.publicKey.pem,
};
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

let database: string;
let staging: string;
let sshd: SshdServer;

const CREDENTIALS = {
	totvsPostgres: { id: 'pg', name: 'PostgreSQL' },
	totvsBackupKeys: { id: 'keys', name: 'Backup keys' },
	totvsSftp: { id: 'sftp', name: 'Offsite SFTP' },
};

/** Start -> each node in turn, every node with the three credentials. */
async function run(nodes: Array<{ name: string; type: string; parameters: INodeParameters }>) {
	const chain = [{ name: 'Start', type: MANUAL_TRIGGER_TYPE, parameters: {} }, ...nodes];
	const result = await runWorkflow(
		{
			nodes: chain.map((n) => ({ ...n, credentials: CREDENTIALS })),
			connections: Object.fromEntries(
				chain.slice(0, -1).map((n, i) => [n.name, { main: [[{ node: chain[i + 1].name, type: 'main', index: 0 }]] }]),
			),
		},
		{
			nodeTypes: packageNodeTypes([new TotvsDump(), new TotvsVerify(), new TotvsUpload()]),
			credentialTypes: [new TotvsPostgres(), new TotvsBackupKeys(), new TotvsSftp()],
			credentials: {
				pg: { type: 'totvsPostgres', name: 'PostgreSQL', data: credentialFor(server, database) },
				keys: { type: 'totvsBackupKeys', name: 'Backup keys', data: keys },
				sftp: { type: 'totvsSftp', name: 'Offsite SFTP', data: sftpCredentialData(sshd) },
			},
		},
	);
	expect(result.error).toBeUndefined();
	return result;
}

const dumpNode = (environment: string, sendWhileDumping: boolean) => ({
	name: 'TOTVS Dump',
	type: DUMP_TYPE,
	parameters: { source: 'postgres', environment, stagingFolder: staging, encryptAndSign: true, sendWhileDumping },
});

beforeAll(async () => {
	if (unavailable) return;
	database = uniqueName('send_while_dumping');
	await createProtheusDatabase(server, { name: database, scale: 30 });
	staging = mkdtempSync(join(tmpdir(), 'totvs-send-while-dumping-'));
	sshd = await startSshd();
}, 300_000);

afterAll(async () => {
	if (unavailable) return;
	await sshd?.stop();
	await dropDatabase(server, database);
	rmSync(staging, { recursive: true, force: true });
});

suite('TOTVS Dump: Send While Dumping (SFTP)', () => {
	it('sends the sealed dump under partial names while it is written; Verify + Upload to the same SFTP complete the set', async () => {
		const dumped = await run([dumpNode('early', true)]);
		const [item] = dumped.jsonOf('TOTVS Dump');
		const backupId = item.backupId as string;
		const artifacts = item.artifacts as Array<{ path: string; sha256: string; bytes: number }>;
		const remote = join(sshd.user.home, 'early', backupId);
		// On the server: every artifact under its partial name, the in-progress marker, nothing final.
		expect(readdirSync(remote).sort()).toEqual(
			[...artifacts.map((a) => partialName(a.path)), 'totvs-in-progress.json'].sort(),
		);
		for (const a of artifacts) expect(sha256(join(remote, partialName(a.path)))).toBe(a.sha256);
		expect(item.earlySend).toEqual({
			destination: expect.stringMatching(/^sftp:\/\//),
			remotePath: `early/${backupId}`,
			files: artifacts.length,
			bytes: artifacts.reduce((sum, a) => sum + a.bytes, 0),
		});
		expect(JSON.stringify(item)).not.toContain(sshd.clientKeyPassphrase);

		const uploaded = await run([
			{
				name: 'TOTVS Verify',
				type: VERIFY_TYPE,
				parameters: { setFolder: item.location as string, useBackupKeys: true },
			},
			{
				name: 'TOTVS Upload',
				type: UPLOAD_TYPE,
				parameters: { destination: 'sftp', operation: 'upload', setFolder: item.location as string },
			},
		]);
		expect(uploaded.jsonOf('TOTVS Verify')[0]).toMatchObject({ status: 'ok', verification: { ok: true } });
		const [upload] = uploaded.jsonOf('TOTVS Upload')[0].uploads as IDataObject[];
		// The partials were proven by the server's SHA-256 and renamed (uploadSet reports them as
		// uploaded, not skipped: the final names did not exist yet).
		expect(upload).toMatchObject({ remotePath: `early/${backupId}`, verified: true, verifiedBy: 'sha256' });
		expect(readdirSync(remote).sort()).toEqual(
			[...artifacts.map((a) => a.path), 'manifest.json', 'manifest.json.sig'].sort(),
		);
		for (const a of artifacts) expect(sha256(join(remote, a.path))).toBe(a.sha256);
	}, 300_000);

	it('with the switch off nothing is sent while dumping and the item says nothing of it', async () => {
		const dumped = await run([dumpNode('late', false)]);
		const [item] = dumped.jsonOf('TOTVS Dump');
		expect(item.status).toBe('ok');
		expect(item).not.toHaveProperty('earlySend');
		expect(existsSync(join(sshd.user.home, 'late'))).toBe(false);
	}, 300_000);

	it('is not offered for a set in the clear (pg_dump rewrites a plain -Fc file at its end): a saved switch does nothing', async () => {
		const node = dumpNode('clear', true);
		const dumped = await run([{ ...node, parameters: { ...node.parameters, encryptAndSign: false } }]);
		const [item] = dumped.jsonOf('TOTVS Dump');
		expect(item.status).toBe('ok');
		expect(item).not.toHaveProperty('earlySend');
		expect(existsSync(join(sshd.user.home, 'clear'))).toBe(false);
	}, 300_000);
});
