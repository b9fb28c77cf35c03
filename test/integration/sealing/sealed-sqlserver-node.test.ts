/**
 * TOTVS Dump (SQL Server, Encrypt and Sign) -> TOTVS Restore Test / TOTVS Restore inside n8n's
 * real engine, with the "TOTVS Backup Keys" credential. No SQL Server runs here: the driver's
 * connect is replaced by the scripted fake of test/unit/sources/sqlserver, which reads the files
 * it is asked to RESTORE from the share. Proves the nodes' side of issue 12 for SQL Server: the
 * sealed .bak is decrypted into the share only for SQL Server to read it, nothing in the clear is
 * left afterwards, the folder Dump recorded is used because a trusted key signed the manifest,
 * and a restore without the identity fails naming the fingerprints the set was sealed for.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TotvsBackupKeys } from '../../../credentials/TotvsBackupKeys.credentials';
import { TotvsSqlServer } from '../../../credentials/TotvsSqlServer.credentials';
import { generateAgeIdentity } from '../../../core/sealing';
import { TotvsDump } from '../../../nodes/TotvsDump/TotvsDump.node';
import { TotvsRestore } from '../../../nodes/TotvsRestore/TotvsRestore.node';
import { TotvsRestoreTest } from '../../../nodes/TotvsRestoreTest/TotvsRestoreTest.node';
import { MANUAL_TRIGGER_TYPE, PACKAGE_NAME, packageNodeTypes, runWorkflow } from '../../../support/n8n-engine';
import { DUMP_TYPE } from '../../../support/totvs-workflow';
import { FakeSqlServer } from '../../unit/sources/sqlserver/fake-sql-server';

const SERVER_FOLDER = 'D:\\Backup\\n8n';
const owner = generateAgeIdentity();
const signing = generateKeyPairSync('ed25519');
const signingKey = signing.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const signingPublic = signing.publicKey.export({ format: 'pem', type: 'spki' }).toString();

let mockFake: FakeSqlServer;
jest.mock('../../../core/sources/sqlserver/mssql-runner', () => ({
	connectSqlServer: jest.fn(async () => mockFake.runner()),
}));

let root: string;
let share: string;
beforeEach(async () => {
	root = await mkdtemp(join(tmpdir(), 'totvs-mssql-sealed-'));
	share = join(root, 'share');
	await mkdir(share);
	mockFake = new FakeSqlServer(SERVER_FOLDER, share);
});
afterEach(() => rm(root, { recursive: true, force: true }));

const sqlServerCredential = {
	type: 'totvsSqlServer',
	name: 'SQL Server',
	data: {
		server: 'sqlprod01',
		connectBy: 'port',
		port: 1433,
		database: 'PROTHEUS',
		authentication: 'sql',
		user: 'backup_n8n',
		password: 'Not-A-Real-Pw-1',
		encrypt: true,
	},
};

/** Dump (sealed, with the backup host's keys) -> the restore node with `restoreKeys`. */
function dumpThenRestore(restore: 'test' | 'database', restoreKeys: Record<string, string>) {
	const restoreName = restore === 'test' ? 'TOTVS Restore Test' : 'TOTVS Restore';
	return runWorkflow(
		{
			nodes: [
				{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
				{
					name: 'TOTVS Dump',
					type: DUMP_TYPE,
					parameters: {
						source: 'sqlserver',
						environment: 'prod',
						sqlServerBackupType: 'full',
						stagingFolder: share,
						sqlServerFolder: SERVER_FOLDER,
						sqlServerLocalFolder: share,
						encryptAndSign: true,
					},
					credentials: {
						totvsSqlServer: { id: 'mssql', name: 'SQL Server' },
						totvsBackupKeys: { id: 'backupHost', name: 'Backup host keys' },
					},
				},
				{
					name: restoreName,
					type: `${PACKAGE_NAME}.${restore === 'test' ? 'totvsRestoreTest' : 'totvsRestore'}`,
					// No Backup Folder parameters: the folder Dump recorded is used, since a trusted key signed the set.
					parameters: {
						restoreServer: 'sqlserver',
						useBackupKeys: true,
						...(restore === 'database' ? { operation: 'database', targetDatabase: 'PROTHEUS_RESTORED' } : {}),
					},
					credentials: {
						totvsSqlServer: { id: 'mssql', name: 'SQL Server' },
						totvsBackupKeys: { id: 'restoreHost', name: 'Restore host keys' },
					},
					continueOnFail: true,
				},
			] as never,
			connections: {
				Start: { main: [[{ node: 'TOTVS Dump', type: 'main', index: 0 }]] },
				'TOTVS Dump': { main: [[{ node: restoreName, type: 'main', index: 0 }]] },
			} as never,
		},
		{
			nodeTypes: packageNodeTypes([new TotvsDump(), new TotvsRestoreTest(), new TotvsRestore()]),
			credentialTypes: [new TotvsSqlServer(), new TotvsBackupKeys()],
			credentials: {
				mssql: sqlServerCredential,
				backupHost: {
					type: 'totvsBackupKeys',
					name: 'Backup host keys',
					// Public keys only, as docs/sealing.md says (a full needs no earlier set's LSNs).
					data: { recipients: owner.recipient, signingKey },
				},
				restoreHost: { type: 'totvsBackupKeys', name: 'Restore host keys', data: restoreKeys },
			},
		},
	);
}

/** Files under the share holding a backup's plaintext (the fake's backups start with "TAPE"). */
async function plaintextFiles(folder = share): Promise<string[]> {
	const found: string[] = [];
	for (const entry of await readdir(folder, { withFileTypes: true })) {
		const path = join(folder, entry.name);
		if (entry.isDirectory()) found.push(...(await plaintextFiles(path)));
		else if ((await readFile(path)).subarray(0, 4).toString() === 'TAPE') found.push(path);
	}
	return found;
}

const restoresFrom = () =>
	mockFake.statements
		.filter((s) => /^RESTORE (DATABASE|HEADERONLY|FILELISTONLY)/.test(s) && s.includes('DISK'))
		.map((s) => s.slice(s.indexOf("DISK = N'") + 9).split("'")[0]);

describe('sealed SQL Server sets in n8n', () => {
	it('TOTVS Restore Test: decrypted into the share only for SQL Server, the recorded folder used, nothing left in the clear', async () => {
		const result = await dumpThenRestore('test', { identity: owner.identity, trustedKeys: signingPublic });
		expect(result.error).toBeUndefined();
		const [dumped] = result.jsonOf('TOTVS Dump');
		const [item] = result.jsonOf('TOTVS Restore Test');
		const section = item.restoreTest as { passed: boolean; checks: Array<{ ok: boolean }> };
		expect(section.checks.filter((c) => !c.ok)).toEqual([]);
		expect(section.passed).toBe(true);
		const read = restoresFrom().slice(-3);
		expect(read).toHaveLength(3);
		for (const path of read) expect(path).toMatch(/^D:\\Backup\\n8n\\\.totvs-decrypted-\w{6}\\[^\\]+\.bak$/);
		expect(await plaintextFiles()).toEqual([]);
		expect((await readdir(join(share, 'prod', dumped.backupId as string))).every((n) => !n.endsWith('.bak'))).toBe(
			true,
		);
	});

	it('TOTVS Restore: restored into the target from the decrypted file, nothing left in the clear', async () => {
		const result = await dumpThenRestore('database', { identity: owner.identity, trustedKeys: signingPublic });
		expect(result.error).toBeUndefined();
		const [item] = result.jsonOf('TOTVS Restore');
		expect(item.status).toBe('ok');
		expect(mockFake.renames.at(-1)?.to).toBe('PROTHEUS_RESTORED');
		expect(await plaintextFiles()).toEqual([]);
	});

	it('TOTVS Restore Test without the identity: the item fails naming the fingerprint, nothing restored', async () => {
		const result = await dumpThenRestore('test', { trustedKeys: signingPublic });
		const [item] = result.jsonOf('TOTVS Restore Test');
		expect(item.status).toBe('failed');
		expect(JSON.stringify(item.error)).toContain(owner.fingerprint);
		expect(mockFake.statements.some((s) => s.startsWith('RESTORE DATABASE'))).toBe(false);
		expect(await plaintextFiles()).toEqual([]);
	});
});
