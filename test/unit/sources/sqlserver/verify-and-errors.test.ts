/**
 * TOTVS Verify on SQL Server sets (chain from the manifests; VERIFYONLY only with a server, and
 * "not run" without one, never "passed"), error mapping, and the credential's connection and test.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BackupError } from '../../../../core/errors';
import { mssqlConfig, type SqlServerConnection } from '../../../../core/sources/sqlserver/connection';
import { describeServerForCredential } from '../../../../core/sources/sqlserver/connection-test';
import { connectionError, sqlServerError } from '../../../../core/sources/sqlserver/errors';
import { supportsBackupCompression, versionNumber } from '../../../../core/sources/sqlserver/server-facts';
import { serverPathFor } from '../../../../core/sources/sqlserver/shared-folder';
import { verifyLocalSet } from '../../../../core/verify/verify-set';
import { sqlServerConnection } from '../../../../nodes/shared/sqlserver-credential';
import { TotvsDump } from '../../../../nodes/TotvsDump/TotvsDump.node';
import { verifySummary } from '../../../../nodes/shared/summary';
import { FakeSqlServer, sqlError } from './fake-sql-server';
import { makeTestbed, type Testbed } from './testbed';

const SERVER_FOLDER = '\\\\filer\\totvs';
const connection: SqlServerConnection = {
	server: 'sqlprod01',
	port: 1433,
	database: 'PROTHEUS',
	authentication: 'sql',
	user: 'backup_n8n',
	password: 'S3cret!pass',
	encrypt: true,
	trustServerCertificate: false,
	connectTimeoutMs: 15000,
	requestTimeoutMs: 60000,
};

describe('TOTVS Verify on SQL Server sets', () => {
	let bed: Testbed;
	let root: string;
	let share: string;
	let fake: FakeSqlServer;
	beforeEach(async () => {
		bed = await makeTestbed(SERVER_FOLDER);
		({ root, share, fake } = bed);
	});
	afterEach(() => bed.dispose());
	const backup = (type: 'full' | 'log') => bed.backup(type);
	const access = () => ({
		connect: async () => fake.runner(),
		shared: { serverFolder: SERVER_FOLDER, localFolder: share },
	});

	it('without a server: hashes and chain checked, VERIFYONLY reported as not run (not as passed)', async () => {
		const full = await backup('full');
		const { verification } = await verifyLocalSet(full.folder);
		expect(verification.checks.map((c) => [c.name, c.ok, c.notRun ?? false])).toEqual([
			['manifest', true, false],
			['artifacts', true, false],
			['chain', true, false],
			['verifyonly', false, true],
		]);
		expect(verification.checks[3].actual).toBe('not run');
		expect(verification.ok).toBe(true);
		expect(verifySummary(full.manifest.backupId, verification.checks, 'en')).toBe(
			`Backup ${full.manifest.backupId} verified: 3 checks passed; not run: verifyonly.`,
		);
	});

	it('with a server: HEADERONLY matches the manifest and RESTORE VERIFYONLY WITH CHECKSUM passes', async () => {
		const full = await backup('full');
		fake.statements.length = 0;
		const { verification } = await verifyLocalSet(full.folder, { sqlServer: access() });
		const path = `${SERVER_FOLDER}\\prod\\${full.manifest.backupId}\\PROTHEUS_FULL.bak`;
		expect(fake.statements).toEqual([
			`RESTORE HEADERONLY FROM DISK = N'${path}'`,
			`RESTORE VERIFYONLY FROM DISK = N'${path}' WITH CHECKSUM`,
		]);
		expect(verification.checks[3]).toMatchObject({
			name: 'verifyonly',
			ok: true,
			actual: 'The backup set on file 1 is valid.',
		});
		expect(verification.ok).toBe(true);
	});

	it("a damaged backup fails VERIFYONLY with SQL Server's messages", async () => {
		const full = await backup('full');
		fake.failOn(/^RESTORE VERIFYONLY/, sqlError(3189, 'Damage to the backup set was detected.'));
		const { verification } = await verifyLocalSet(full.folder, { sqlServer: access() });
		expect(verification.checks[3]).toMatchObject({
			name: 'verifyonly',
			ok: false,
			actual: 'Msg 3189',
			message: 'Msg 3189: Damage to the backup set was detected.',
		});
		expect(verification.ok).toBe(false);
	});

	it('a set outside the shared folder cannot be verified by SQL Server, and says why', async () => {
		const full = await backup('full');
		const { verification } = await verifyLocalSet(full.folder, {
			sqlServer: { ...access(), shared: { serverFolder: SERVER_FOLDER, localFolder: join(root, 'elsewhere') } },
		});
		expect(verification.checks[3]).toMatchObject({ name: 'verifyonly', ok: false, actual: 'not verified' });
		expect(verification.checks[3].message).toMatch(/is not inside the folder shared with SQL Server/);
	});

	it('a log whose predecessor was deleted fails the chain check', async () => {
		await backup('full');
		const log1 = await backup('log');
		const log2 = await backup('log');
		expect((await verifyLocalSet(log2.folder)).verification.checks[2]).toMatchObject({
			name: 'chain',
			ok: true,
			actual: expect.stringContaining(`${log1.manifest.backupId} → ${log2.manifest.backupId}`),
		});
		await rm(log1.folder, { recursive: true });
		const { verification } = await verifyLocalSet(log2.folder);
		expect(verification.checks[2]).toMatchObject({ name: 'chain', ok: false, actual: 'broken' });
		expect(verification.checks[2].message).toMatch(/no log backup ends at LSN \d+/);
		expect(verification.ok).toBe(false);
	});

	it('an altered backup file fails the hash check', async () => {
		const full = await backup('full');
		await writeFile(join(full.folder, 'PROTHEUS_FULL.bak'), 'TAPE but not the same bytes');
		const { verification } = await verifyLocalSet(full.folder);
		expect(verification.checks[1]).toMatchObject({ name: 'artifacts', ok: false });
		expect(verification.ok).toBe(false);
	});
});

describe('error mapping', () => {
	it('login failures name the user, never the password', () => {
		const error = connectionError(
			Object.assign(new Error("Login failed for user 'backup_n8n'."), { code: 'ELOGIN', number: 18456 }),
			connection,
		) as BackupError;
		expect(error.code).toBe('AUTH_FAILED');
		expect(error.message).toBe('SQL Server sqlprod01:1433 refused the login of "backup_n8n"');
		expect(`${error.message} ${error.hint}`).not.toContain('S3cret!pass');
		const ntlm = connectionError(Object.assign(new Error('Login failed'), { number: 18456 }), {
			...connection,
			authentication: 'ntlm',
			domain: 'CORP',
		}) as BackupError;
		expect(ntlm.hint).toMatch(/Windows user, domain and password/);
	});

	it('unreachable servers, instances and certificates', () => {
		expect(
			(
				connectionError(
					Object.assign(new Error('Failed to connect to sqlprod01:1433 - connect ECONNREFUSED 10.0.0.5:1433'), {
						code: 'ESOCKET',
					}),
					connection,
				) as BackupError
			).code,
		).toBe('UNREACHABLE');
		const instance = connectionError(
			Object.assign(new Error('Port for TOTVS not found in sqlprod01'), { code: 'EINSTLOOKUP' }),
			{ ...connection, instance: 'TOTVS' },
		) as BackupError;
		expect(instance.message).toBe('Cannot find instance "TOTVS" on sqlprod01: Port for TOTVS not found in sqlprod01');
		expect(instance.hint).toMatch(/SQL Server Browser .* UDP 1434/);
		const tls = connectionError(
			Object.assign(new Error('Failed to connect: self-signed certificate'), { code: 'ESOCKET' }),
			connection,
		) as BackupError;
		expect(tls.code).toBe('TLS_CERTIFICATE');
		expect(tls.hint).toMatch(/Trust Server Certificate/);
		expect(
			(
				connectionError(
					Object.assign(new Error('Cannot open database "P12" requested by the login.'), { number: 4060 }),
					connection,
				) as BackupError
			).code,
		).toBe('DATABASE_NOT_FOUND');
		const other = new Error('something else');
		expect(connectionError(other, connection)).toBe(other);
	});

	it('server errors of a backup or restore', () => {
		const map = (number: number, message: string) =>
			sqlServerError(sqlError(number, message), connection, 'BACKUP DATABASE of PROTHEUS') as BackupError;
		expect(map(262, "BACKUP DATABASE permission denied in database 'PROTHEUS'.").code).toBe('PERMISSION_DENIED');
		expect(map(262, 'x').hint).toMatch(/db_backupoperator .* dbcreator/);
		expect(map(3201, "Cannot open backup device 'x'. Operating system error 5(Access is denied.).").code).toBe(
			'DUMP_FAILED',
		);
		expect(map(4208, 'The statement BACKUP LOG is not allowed while the recovery model is SIMPLE.').code).toBe(
			'UNSUPPORTED_OPTION',
		);
		expect(map(3035, 'Cannot perform a differential backup').code).toBe('BACKUP_CHAIN_BROKEN');
		expect(map(4214, 'BACKUP LOG cannot be performed because there is no current database backup.').code).toBe(
			'BACKUP_CHAIN_BROKEN',
		);
		expect(map(3189, 'Damage to the backup set was detected.').code).toBe('RESTORE_FAILED');
		const generic = map(1105, "Could not allocate space for object 'x'");
		expect(generic.code).toBe('DUMP_FAILED');
		expect(generic.message).toBe(
			"BACKUP DATABASE of PROTHEUS failed on backup_n8n@sqlprod01:1433/PROTHEUS: Msg 1105: Could not allocate space for object 'x'",
		);
	});
});

describe('server facts', () => {
	it("backup compression by edition and version (Ola Hallengren's rule)", () => {
		const standard = -1534726760;
		expect(
			supportsBackupCompression({ version: versionNumber('16.0.4135.4'), engineEdition: 2, editionId: standard }),
		).toBe(true);
		expect(
			supportsBackupCompression({ version: versionNumber('10.50.6000.34'), engineEdition: 2, editionId: standard }),
		).toBe(true);
		expect(
			supportsBackupCompression({ version: versionNumber('10.0.6000.29'), engineEdition: 2, editionId: standard }),
		).toBe(false);
		expect(
			supportsBackupCompression({ version: versionNumber('10.0.6000.29'), engineEdition: 3, editionId: 1804890536 }),
		).toBe(true);
		expect(supportsBackupCompression({ version: 15, engineEdition: 4, editionId: -1592396055 })).toBe(false); // Express
		expect(supportsBackupCompression({ version: 15, engineEdition: 2, editionId: 1674378470 })).toBe(false); // Web
		expect(supportsBackupCompression({ version: 15, engineEdition: 3, editionId: -2117995310 })).toBe(true); // Developer
		expect(versionNumber('10.50.6000.34')).toBe(10.5);
	});

	it('maps the shared folder between n8n and SQL Server', () => {
		expect(
			serverPathFor('/mnt/sql/prod/x/PROTHEUS_FULL.bak', {
				serverFolder: 'D:\\Backup\\n8n\\',
				localFolder: '/mnt/sql',
			}),
		).toBe('D:\\Backup\\n8n\\prod\\x\\PROTHEUS_FULL.bak');
		expect(serverPathFor('/mnt/sql/a.bak', { serverFolder: '/var/opt/mssql/backup', localFolder: '/mnt/sql/' })).toBe(
			'/var/opt/mssql/backup/a.bak',
		);
		expect(() => serverPathFor('/mnt/sqlother/a.bak', { serverFolder: 'D:\\B', localFolder: '/mnt/sql' })).toThrow(
			/not inside the folder shared/,
		);
		expect(() => serverPathFor('/mnt/sql/../etc/a.bak', { serverFolder: 'D:\\B', localFolder: '/mnt/sql' })).toThrow(
			/not inside the folder shared/,
		);
	});
});

describe('TOTVS SQL Server credential', () => {
	it('builds the driver configuration: TLS validated by default, instance instead of port, NTLM', () => {
		const c = sqlServerConnection({
			server: ' sqlprod01 ',
			connectBy: 'port',
			port: 1433,
			database: 'PROTHEUS',
			authentication: 'sql',
			user: 'u',
			password: 'p',
			encrypt: true,
			connectTimeout: 20,
			requestTimeout: 120,
		});
		expect(mssqlConfig(c)).toEqual({
			server: 'sqlprod01',
			port: 1433,
			database: 'PROTHEUS',
			user: 'u',
			password: 'p',
			connectionTimeout: 20000,
			requestTimeout: 120000,
			pool: { min: 0, max: 1 },
			options: { encrypt: true, trustServerCertificate: false, appName: 'n8n-nodes-totvs-backup' },
		});
		const named = mssqlConfig(
			sqlServerConnection({
				server: 's',
				connectBy: 'instance',
				instance: 'TOTVS',
				port: 1433,
				database: 'd',
				authentication: 'ntlm',
				domain: 'CORP',
				user: 'svc',
				password: 'p',
				encrypt: false,
				trustServerCertificate: true,
			}),
		);
		expect(named.port).toBeUndefined();
		expect(named.options).toEqual({
			encrypt: false,
			trustServerCertificate: false,
			appName: 'n8n-nodes-totvs-backup',
			instanceName: 'TOTVS',
		});
		expect(named.authentication).toEqual({ type: 'ntlm', options: { userName: 'svc', password: 'p', domain: 'CORP' } });
		expect(named.user).toBeUndefined();
	});

	it('the test reports version, edition, recovery model and whether the login may back up', async () => {
		const fake = new FakeSqlServer('D:\\x', '/tmp');
		expect(await describeServerForCredential(fake.runner(), 'PROTHEUS')).toEqual({
			ok: true,
			message:
				'Connected to SQL Server 16.0.4135.4 Standard Edition; database PROTHEUS: recovery model FULL, collation Latin1_General_BIN, full, differential and log backups; backup compression available',
		});
		fake.database.recoveryModel = 'SIMPLE';
		fake.canBackup = false;
		const refused = await describeServerForCredential(fake.runner(), 'PROTHEUS');
		expect(refused.ok).toBe(false);
		expect(refused.message).toMatch(
			/recovery model SIMPLE, .*\(SIMPLE recovery: no log backups\).*But the login may not back up PROTHEUS: add its user to db_backupoperator/,
		);
	});

	it('is declared by TOTVS Dump with its test, shown for the SQL Server source', () => {
		const dump = new TotvsDump();
		expect(dump.description.credentials).toContainEqual({
			name: 'totvsSqlServer',
			required: true,
			testedBy: 'totvsSqlServerConnectionTest',
			displayOptions: { show: { source: ['sqlserver'] } },
		});
		expect(typeof dump.methods.credentialTest.totvsSqlServerConnectionTest).toBe('function');
		const source = dump.description.properties.find((p) => p.name === 'source');
		expect(source?.options).toContainEqual(expect.objectContaining({ value: 'sqlserver' }));
	});
});
