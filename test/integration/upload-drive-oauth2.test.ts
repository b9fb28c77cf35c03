/**
 * TOTVS Upload with the "Sign in with Google" credential (totvsGoogleDriveOAuth2Api) inside n8n's
 * real engine, against the Drive v3 emulator (Google itself is emulated, see the README):
 * Manual Trigger -> Dump (PostgreSQL) -> Verify -> Upload, then List, Download (+ Verify)
 * and Prune (dry run) with the same credential. The credential data is what n8n stores after
 * the sign-in: the client, the token URL, and `oauthTokenData` with an access token (stale, as
 * it would be hours later) and the refresh token the node must hand to core.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';
import { TotvsGoogleDriveOAuth2Api } from '../../credentials/TotvsGoogleDriveOAuth2Api.credentials';
import { TotvsPostgres } from '../../credentials/TotvsPostgres.credentials';
import { TotvsDump } from '../../nodes/TotvsDump/TotvsDump.node';
import { TotvsUpload } from '../../nodes/TotvsUpload/TotvsUpload.node';
import { TotvsVerify } from '../../nodes/TotvsVerify/TotvsVerify.node';
import { createProtheusDatabase, dropDatabase } from '../../support/fixtures/protheus-db';
import { startDriveEmulator, type DriveEmulator } from '../../support/drive-emulator';
import {
	MANUAL_TRIGGER_TYPE,
	packageNodeTypes,
	runWorkflow,
	type WorkflowInput,
	type WorkflowNodeInput,
} from '../../support/n8n-engine';
import { sharedPostgres, uniqueName } from '../../support/shared-postgres';
import { DUMP_TYPE, UPLOAD_TYPE, VERIFY_TYPE, credentialFor } from '../../support/totvs-workflow';

const client = {
	clientId: '1234567890-totvs.apps.googleusercontent.com',
	clientSecret: 'GOCSPX-emulated-client-secret',
	refreshToken: '1//0g-emulated-refresh-token-for-totvs',
};
const STALE_ACCESS_TOKEN = 'ya29.stale-access-token-from-the-sign-in';
const SECRETS = [client.clientSecret, client.refreshToken, STALE_ACCESS_TOKEN];

const server = sharedPostgres();
let database: string;
let work: string;
let staging: string;
let drive: DriveEmulator;

/** The credential as n8n stores it after "Sign in with Google", pointed at the emulator. */
function signedInData(tokens: IDataObject = {}): ICredentialDataDecryptedObject {
	return {
		clientId: client.clientId,
		clientSecret: client.clientSecret,
		accessTokenUrl: drive.tokenUrl,
		apiBaseUrl: drive.url,
		folderId: drive.rootFolderId,
		oauthTokenData: {
			access_token: STALE_ACCESS_TOKEN,
			expires_in: 3599,
			refresh_token: client.refreshToken,
			scope: 'https://www.googleapis.com/auth/drive',
			token_type: 'Bearer',
			...tokens,
		},
	};
}

const SIGN_IN_CREDENTIAL = { totvsGoogleDriveOAuth2Api: { id: 'google', name: 'Google Drive (backup@example.com)' } };

function uploadNode(name: string, parameters: IDataObject, extra: Partial<WorkflowNodeInput> = {}): WorkflowNodeInput {
	return {
		name,
		type: UPLOAD_TYPE,
		parameters: { destination: 'googleDriveSignIn', ...parameters },
		credentials: SIGN_IN_CREDENTIAL,
		...extra,
	};
}

function run(nodes: WorkflowNodeInput[], data: ICredentialDataDecryptedObject = signedInData()) {
	const all = [{ name: 'Start', type: MANUAL_TRIGGER_TYPE }, ...nodes];
	const workflow: WorkflowInput = {
		nodes: all,
		connections: Object.fromEntries(
			all
				.slice(0, -1)
				.map((node, i) => [node.name, { main: [[{ node: all[i + 1].name, type: 'main' as const, index: 0 }]] }]),
		),
	};
	return runWorkflow(workflow, {
		nodeTypes: packageNodeTypes([new TotvsDump(), new TotvsVerify(), new TotvsUpload()]),
		credentialTypes: [new TotvsPostgres(), new TotvsGoogleDriveOAuth2Api()],
		credentials: {
			pg: { type: 'totvsPostgres', name: 'Protheus PostgreSQL', data: credentialFor(server, database) },
			google: { type: 'totvsGoogleDriveOAuth2Api', name: SIGN_IN_CREDENTIAL.totvsGoogleDriveOAuth2Api.name, data },
		},
	});
}

const tokenRequests = () => drive.requests.filter((r) => r.startsWith('POST /token')).length;

beforeAll(async () => {
	work = mkdtempSync(join(tmpdir(), 'totvs-drive-oauth2-'));
	staging = join(work, 'staging');
	mkdirSync(staging);
	database = uniqueName('drive_oauth2');
	await createProtheusDatabase(server, { name: database, scale: 20 });
	drive = await startDriveEmulator({ oauthClient: client });
});

afterAll(async () => {
	await drive?.stop();
	await dropDatabase(server, database);
	rmSync(work, { recursive: true, force: true });
});

describe('TOTVS Upload to Google Drive with "Sign in with Google" (emulator)', () => {
	let uploaded: IDataObject;

	it('runs Dump -> Verify -> Upload with the OAuth2 credential, using its refresh token', async () => {
		const before = tokenRequests();
		const result = await run([
			{
				name: 'TOTVS Dump',
				type: DUMP_TYPE,
				parameters: { environment: 'p12', stagingFolder: staging },
				credentials: { totvsPostgres: { id: 'pg', name: 'Protheus PostgreSQL' } },
			},
			{ name: 'TOTVS Verify', type: VERIFY_TYPE, parameters: {} },
			uploadNode('Upload Drive', { operation: 'upload' }),
		]);
		expect(result.error).toBeUndefined();
		expect(result.executionOrder).toEqual(['Start', 'TOTVS Dump', 'TOTVS Verify', 'Upload Drive']);
		const [item] = result.jsonOf('Upload Drive');
		uploaded = item;
		const backupId = item.backupId as string;
		expect(item).toMatchObject({ status: 'ok', environment: 'p12', verification: { ok: true } });
		const uploads = item.uploads as IDataObject[];
		expect(uploads).toHaveLength(1);
		expect(uploads[0]).toMatchObject({
			remotePath: `p12/${backupId}`,
			verified: true,
			verifiedBy: 'sha256',
			bytes: item.totalBytes,
		});
		expect(String(uploads[0].destination)).toMatch(/^gdrive:\/\/oauth2\//);

		// The emulator only grants tokens for this client's refresh token: the node handed it over.
		expect(tokenRequests()).toBeGreaterThan(before);
		// The bytes are in the emulated Drive, under their final names.
		const files = drive.files().filter((f) => !f.trashed);
		const artifacts = item.artifacts as Array<{ path: string; sha256: string }>;
		expect(artifacts.length).toBeGreaterThan(0);
		for (const a of artifacts) {
			const stored = files.find((f) => f.name === a.path.split('/').pop());
			expect(stored?.sha256Checksum).toBe(a.sha256);
			expect(
				createHash('sha256')
					.update(await drive.readFile(stored!.id))
					.digest('hex'),
			).toBe(a.sha256);
		}
		expect(files.some((f) => f.name === 'manifest.json')).toBe(true);

		const logs = result.logs.join('\n');
		for (const secret of SECRETS) expect(logs).not.toContain(secret);
	});

	it('lists, downloads (then verifies) and prunes (dry run) with the same credential', async () => {
		expect(uploaded).toBeDefined();
		const backupId = uploaded.backupId as string;
		const listed = await run([uploadNode('List', { operation: 'list', environment: '' })]);
		expect(listed.error).toBeUndefined();
		expect(listed.jsonOf('List')).toEqual([
			expect.objectContaining({
				backupId,
				environment: 'p12',
				remoteStatus: 'complete',
				totalBytes: uploaded.totalBytes,
				status: 'ok',
			}),
		]);

		const download = join(work, 'download');
		mkdirSync(download);
		const fetched = await run([
			uploadNode('Download', {
				operation: 'download',
				environment: 'p12',
				backupId: 'latest',
				stagingFolder: download,
			}),
			{ name: 'Verify', type: VERIFY_TYPE, parameters: {} },
		]);
		expect(fetched.error).toBeUndefined();
		const [item] = fetched.jsonOf('Verify');
		expect(item).toMatchObject({
			backupId,
			status: 'ok',
			location: join(download, 'p12', backupId),
			verification: { ok: true },
		});
		const manifest = JSON.parse(readFileSync(join(download, 'p12', backupId, 'manifest.json'), 'utf8'));
		expect(manifest.backupId).toBe(backupId);

		const pruned = await run([
			uploadNode('Prune', {
				operation: 'prune',
				environment: 'p12',
				keepLast: 1,
				keepDaily: 0,
				keepWeekly: 0,
				keepMonthly: 0,
				minimumAgeDays: 0,
			}),
		]);
		expect(pruned.error).toBeUndefined();
		expect(pruned.jsonOf('Prune')[0]).toMatchObject({
			status: 'ok',
			prune: { dryRun: true, deleteCount: 0, keepCount: 1 },
		});
	});

	it('a credential without a refresh token fails before touching Drive, says to sign in again, and shows no token', async () => {
		expect(uploaded).toBeDefined();
		const before = drive.requests.length;
		const noRefresh = signedInData({ refresh_token: undefined });
		const failed = await run(
			[uploadNode('Upload Drive', { operation: 'upload', setFolder: uploaded.location as string })],
			noRefresh,
		);
		expect(failed.status).toBe('error');
		expect(failed.error?.message).toMatch(/has no refresh token/);
		expect((failed.error as { description?: string }).description).toMatch(
			/"Sign in with Google" again.*offline access/,
		);
		expect(drive.requests.length).toBe(before);
		const everything = `${JSON.stringify(failed.error)}\n${failed.logs.join('\n')}`;
		for (const secret of SECRETS) expect(everything).not.toContain(secret);

		// With Continue On Fail the item goes on, marked failed, with the same clear message.
		const continued = await run(
			[
				uploadNode(
					'Upload Drive',
					{ operation: 'upload', setFolder: uploaded.location as string },
					{ continueOnFail: true },
				),
			],
			noRefresh,
		);
		expect(continued.error).toBeUndefined();
		const [item] = continued.jsonOf('Upload Drive');
		expect(item.status).toBe('failed');
		expect((item.error as IDataObject).message).toMatch(/has no refresh token/);
		for (const secret of SECRETS) expect(JSON.stringify(item)).not.toContain(secret);
	});

	it('a folder the signed-in account cannot reach: the hint speaks of that account, not of a service account', async () => {
		const failed = await run([uploadNode('List', { operation: 'list', environment: '' })], {
			...signedInData(),
			folderId: 'folder-of-someone-else',
		});
		expect(failed.status).toBe('error');
		expect(failed.error?.message).toMatch(/Google Drive refused to .*gdrive:\/\/oauth2\/folder-of-someone-else/);
		expect((failed.error as { description?: string }).description).toMatch(
			/the Google account the credential signed in with can edit that folder/,
		);
	});

	it('a revoked refresh token is refused by Google: clear error, sign in again, no token shown', async () => {
		expect(uploaded).toBeDefined();
		const revoked = signedInData({ refresh_token: '1//0g-revoked-refresh-token-value' });
		const failed = await run([uploadNode('List', { operation: 'list', environment: '' })], revoked);
		expect(failed.status).toBe('error');
		expect(failed.error?.message).toMatch(/Google refused the credentials \(invalid_grant/);
		expect((failed.error as { description?: string }).description).toMatch(/sign in again/);
		const everything = `${JSON.stringify(failed.error)}\n${failed.logs.join('\n')}`;
		for (const secret of [...SECRETS, '1//0g-revoked-refresh-token-value']) expect(everything).not.toContain(secret);
	});
});
