/**
 * Sealed point-in-time sets through the nodes in n8n's real engine against a real PostgreSQL 15:
 * TOTVS Dump "PostgreSQL (Point in Time)" with Encrypt and Sign (a credential with public keys and
 * the signing key only) makes a sealed base and incremental; TOTVS Restore Test "Test to a Point
 * in Time" with the restore host's keys passes; without the identity it fails naming the key.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ICredentialDataDecryptedObject, IDataObject, INodeParameters } from 'n8n-workflow';
import { parseSetKeys } from '../../../core/backup-set/set-keys';
import { generateAgeIdentity } from '../../../core/sealing';
import { TotvsBackupKeys } from '../../../credentials/TotvsBackupKeys.credentials';
import { TotvsPostgres } from '../../../credentials/TotvsPostgres.credentials';
import { TotvsDump } from '../../../nodes/TotvsDump/TotvsDump.node';
import { TotvsRestoreTest } from '../../../nodes/TotvsRestoreTest/TotvsRestoreTest.node';
import {
	MANUAL_TRIGGER_TYPE,
	PACKAGE_NAME,
	packageNodeTypes,
	runWorkflow,
	type HarnessCredential,
} from '../../../support/n8n-engine';
import type { PitrServer } from '../../../support/pitr-server';
import { credentialFor, DUMP_TYPE } from '../../../support/totvs-workflow';
import { pitrServerWithDatabase, scratchRoot, sleep } from './helpers';

const RESTORE_TEST_TYPE = `${PACKAGE_NAME}.totvsRestoreTest`;
const owner = generateAgeIdentity();
const signingKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const signingPublic = parseSetKeys({ signingKey }).signingKey!.publicKey.pem;
const backupHostKeys = { recipients: owner.recipient, signingKey };
const restoreHostKeys = { identity: owner.identity, trustedKeys: signingPublic };

let server: PitrServer;
let staging: string;
let scratch: string;

beforeAll(async () => {
	({ server } = await pitrServerWithDatabase('erp', (s) =>
		s.admin('CREATE TABLE t (id serial PRIMARY KEY, tag text)', 'erp'),
	));
	staging = mkdtempSync(join(tmpdir(), 'totvs-pitr-sealed-node-'));
	scratch = scratchRoot();
}, 120_000);

afterAll(async () => {
	await server?.stop();
	for (const folder of [staging, scratch]) if (folder) rmSync(folder, { recursive: true, force: true });
});

function credentials(keys?: ICredentialDataDecryptedObject): Record<string, HarnessCredential> {
	const all: Record<string, HarnessCredential> = {
		pg: { type: 'totvsPostgres', name: 'Protheus PostgreSQL', data: credentialFor(server, 'erp', 'backup', 'secret') },
	};
	if (keys) all.keys = { type: 'totvsBackupKeys', name: 'Backup keys', data: keys };
	return all;
}

function run(node: { name: string; type: string; parameters: INodeParameters }, keys?: ICredentialDataDecryptedObject) {
	return runWorkflow(
		{
			nodes: [
				{ name: 'Start', type: MANUAL_TRIGGER_TYPE, parameters: {} },
				{
					...node,
					continueOnFail: true,
					credentials: {
						totvsPostgres: { id: 'pg', name: 'Protheus PostgreSQL' },
						...(keys ? { totvsBackupKeys: { id: 'keys', name: 'Backup keys' } } : {}),
					},
				},
			],
			connections: { Start: { main: [[{ node: node.name, type: 'main', index: 0 }]] } },
		},
		{
			nodeTypes: packageNodeTypes([new TotvsDump(), new TotvsRestoreTest()]),
			credentialTypes: [new TotvsPostgres(), new TotvsBackupKeys()],
			credentials: credentials(keys),
		},
	);
}

const dump = async (pitrAction: string) =>
	(
		await run(
			{
				name: 'TOTVS Dump',
				type: DUMP_TYPE,
				parameters: {
					source: 'postgresPitr',
					environment: 'erp',
					stagingFolder: staging,
					pitrAction,
					encryptAndSign: true,
					pitrOptions: {},
				},
			},
			backupHostKeys,
		)
	).jsonOf('TOTVS Dump')[0];

const restoreTest = async (target: Date, keys?: ICredentialDataDecryptedObject) =>
	(
		await run(
			{
				name: 'TOTVS Restore Test',
				type: RESTORE_TEST_TYPE,
				parameters: {
					operation: 'pointInTime',
					setSource: 'folder',
					backupsFolder: staging,
					environment: 'erp',
					pitrTarget: 'time',
					pitrTargetTime: target.toISOString(),
					useBackupKeys: Boolean(keys),
					options: { scratchFolder: scratch },
				},
			},
			keys,
		)
	).jsonOf('TOTVS Restore Test')[0];

const insert = (rows: number, tag: string) =>
	server.admin('INSERT INTO t (tag) SELECT $2 FROM generate_series(1, $1)', 'erp', [rows, tag]);

test('TOTVS Dump seals a point-in-time chain; Restore Test opens it with the identity, and names the key without it', async () => {
	await insert(10, 'before base');
	const base = await dump('full');
	expect(base.status).toBe('ok');
	expect(base.artifacts).toEqual(
		expect.arrayContaining([expect.objectContaining({ path: expect.stringMatching(/^base\/base\.tar\.gz\.age$/) })]),
	);
	await insert(10, 'before T');
	await sleep(1500);
	const target = (await server.admin<{ t: Date }>('SELECT clock_timestamp() AS t'))[0].t;
	await sleep(1500);
	await insert(10, 'after T');
	const incremental = await dump('incremental');
	expect(incremental.status).toBe('ok');
	expect(incremental.baseBackupId).toBe(base.backupId);

	const tested = await restoreTest(target, restoreHostKeys);
	expect(tested.status).toBe('ok');
	expect((tested.restoreTest as IDataObject).passed).toBe(true);

	const refused = await restoreTest(target);
	expect(refused.status).toBe('failed');
	expect(JSON.stringify(refused.error)).toContain(owner.fingerprint);
}, 300_000);
