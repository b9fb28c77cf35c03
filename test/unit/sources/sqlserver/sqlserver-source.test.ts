/**
 * The SQL Server source end to end against the scripted FakeSqlServer (no real server here):
 * exact statements, the file SQL Server "writes" into the shared folder hashed into the set,
 * chains, promotion, pre-flight refusals and failures.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { listSets, readSet } from '../../../../core/backup-set/catalog';
import { manifestOf } from '../../../../core/backup-set/manifest';
import { BackupError } from '../../../../core/errors';
import type { Logger } from '../../../../core/logger';
import { FakeSqlServer, sqlError } from './fake-sql-server';
import { makeTestbed, testConnection, type Testbed } from './testbed';

const SERVER_FOLDER = 'D:\\Backup\\n8n';
let bed: Testbed;
let root: string;
let share: string;
let fake: FakeSqlServer;
let logged: string[];
const log: Logger = {
	debug: () => undefined,
	info: (m) => logged.push(`info ${m}`),
	warn: (m) => logged.push(`warn ${m}`),
};

beforeEach(async () => {
	logged = [];
	bed = await makeTestbed(SERVER_FOLDER, log);
	({ root, share, fake } = bed);
});
afterEach(() => bed.dispose());

const backup: Testbed['backup'] = (...args) => bed.backup(...args);
const connection = testConnection;

const sha256 = async (path: string) =>
	createHash('sha256')
		.update(await readFile(path))
		.digest('hex');
const backupStatements = () => fake.statements.filter((s) => s.startsWith('BACKUP '));

async function expectError(promise: Promise<unknown>, code: string, message: RegExp) {
	const error = await promise.then(
		() => undefined,
		(e: unknown) => e,
	);
	expect(error).toBeInstanceOf(BackupError);
	expect((error as BackupError).code).toBe(code);
	expect((error as BackupError).message).toMatch(message);
	return error as BackupError;
}

describe('SQL Server full backup', () => {
	it('with the staging folder in the share: SQL Server writes into the share, n8n renames the file into the set and hashes it', async () => {
		const result = await backup('full');
		const m = manifestOf(result.manifest, 'sqlserver');
		expect(result.folder).toBe(join(share, 'prod', m.backupId));
		expect(m.backupId).toMatch(/^prod-\d{8}T\d{6}Z-full-db$/);
		expect(backupStatements()).toEqual([
			`BACKUP DATABASE [PROTHEUS] TO DISK = N'D:\\Backup\\n8n\\${m.backupId}_PROTHEUS_FULL.bak' WITH CHECKSUM, COMPRESSION, NAME = N'${m.backupId}', DESCRIPTION = N'n8n-nodes-totvs-backup prod', STATS = 10`,
		]);
		expect(await readdir(share)).toEqual(['prod']);
		const file = join(result.folder, 'PROTHEUS_FULL.bak');
		expect(m.artifacts).toEqual([
			{ path: 'PROTHEUS_FULL.bak', kind: 'sqlserver-backup', bytes: 200_004, sha256: await sha256(file) },
		]);
		expect(m.compression).toEqual({ method: 'sqlserver-native', level: null });
		expect(m.source).toMatchObject({
			serverVersion: '16.0.4135.4',
			edition: 'Standard Edition (64-bit)',
			collation: 'Latin1_General_BIN',
			recoveryModel: 'FULL',
			compatibilityLevel: 160,
			serverName: 'SQLPROD01',
			serverFolder: SERVER_FOLDER,
			localFolder: share,
		});
		expect(JSON.stringify(m)).not.toContain('not-a-real-secret');
		// LSNs: exact digits from msdb, confirmed by HEADERONLY.
		const history = fake.history[0];
		expect(m.inventory.backup).toMatchObject({
			backupType: 'full',
			databaseName: 'PROTHEUS',
			hasChecksums: true,
			copyOnly: false,
			lsnSource: 'msdb',
			lsn: {
				first: history.first.toString(),
				last: history.last.toString(),
				checkpoint: history.checkpoint.toString(),
				databaseBackup: '0',
				differentialBase: null,
			},
		});
		expect(m.inventory.tables.find((t) => t.name === 'SA1010')).toEqual({
			schema: 'dbo',
			name: 'SA1010',
			rows: 1520,
			rowsEstimated: false,
			bytes: 608000,
			maxRecno: 1544,
			hasRecno: true,
			hasDeleted: true,
			protheus: true,
		});
		expect(m.inventory.dbaccess).toEqual({ topTables: ['TOP_FIELD'], sysTables: ['SYS_COMPANY'] });
		expect(m.inventory.procedures).toEqual(['dbo.MAT001_01', 'dbo.FIN002_01']);
		expect(m.inventory.snapshotConsistent).toBe(false);
		// STATS messages became progress lines.
		expect(logged.filter((l) => / \d+% \(/.test(l))).toHaveLength(10);
		expect(logged).toContain(`info Backup of PROTHEUS: 50% (${m.backupId})`);
		// The manifest on disk reads back.
		expect((await readSet(result.folder)).backupId).toBe(m.backupId);
	});

	it('with staging on another filesystem: the file is copied into the set (hashed as it streams), then removed from the share', async () => {
		if (
			(await stat('/dev/shm').catch(() => undefined))?.dev === (await stat(root)).dev ||
			!(await stat('/dev/shm').catch(() => undefined))
		) {
			console.warn('skipped: no second filesystem (/dev/shm) to make a rename fail with EXDEV');
			return;
		}
		const staging = await mkdtemp('/dev/shm/totvs-mssql-staging-');
		try {
			const result = await backup('full', {}, staging);
			const m = result.manifest;
			expect(backupStatements()[0]).toContain(`TO DISK = N'D:\\Backup\\n8n\\${m.backupId}_PROTHEUS_FULL.bak'`);
			expect(await readdir(share)).toEqual([]);
			expect(m.artifacts[0]).toMatchObject({
				path: 'PROTHEUS_FULL.bak',
				bytes: 200_004,
				sha256: await sha256(join(result.folder, 'PROTHEUS_FULL.bak')),
			});
		} finally {
			await rm(staging, { recursive: true, force: true });
		}
	});

	it("a log backup's file leaves the share only once its set is complete", async () => {
		await backup('full');
		const log = await backup('log');
		expect(await readdir(share)).toEqual(['prod']);
		expect((await readSet(log.folder)).artifacts[0]).toMatchObject({
			path: 'PROTHEUS_LOG.trn',
			sha256: await sha256(join(log.folder, 'PROTHEUS_LOG.trn')),
		});
	});

	it('without compression on an edition that has none, and refuses to force it', async () => {
		fake.server = { ...fake.server, edition: 'Express Edition (64-bit)', engineEdition: 4, editionId: -1592396055 };
		const result = await backup('full', { copyOnly: true });
		expect(backupStatements()[0]).toContain('WITH CHECKSUM, NO_COMPRESSION, COPY_ONLY, NAME');
		expect(result.manifest.compression.method).toBe('none');
		await expectError(
			backup('full', { compression: 'on' }),
			'UNSUPPORTED_OPTION',
			/SQL Server 16\.0\.4135\.4 Express Edition cannot compress backups/,
		);
	});

	it('quotes a hostile database name and keeps the file name safe', async () => {
		const hostile = "a]b'; DROP TABLE x--";
		fake.database.name = hostile;
		const result = await backup('full', {}, share, { ...connection, database: hostile });
		expect(backupStatements()[0]).toMatch(
			/^BACKUP DATABASE \[a\]\]b'; DROP TABLE x--\] TO DISK = N'D:\\Backup\\n8n\\prod-[^']+_a_b___DROP_TABLE_x--_FULL\.bak' WITH/,
		);
		expect(result.manifest.artifacts[0].path).toBe('a_b___DROP_TABLE_x--_FULL.bak');
		const facts = fake.statements.findIndex((s) => s.includes('FROM sys.databases d'));
		expect(fake.params[facts]).toEqual({ database: hostile });
	});

	it('refuses before writing anything: missing mount, no permission, cloud edition', async () => {
		await expectError(
			backup('full', { localFolder: join(root, 'not-mounted') }),
			'INVALID_INPUT',
			/not-mounted \(as n8n sees it\) does not exist/,
		);
		await expectError(backup('full', { serverFolder: ' ' }), 'INVALID_INPUT', /backup folder twice/);
		fake.canBackup = false;
		await expectError(backup('full'), 'PERMISSION_DENIED', /no BACKUP DATABASE permission on "PROTHEUS"/);
		fake.canBackup = true;
		fake.canReadHeaders = false;
		await expectError(
			backup('full'),
			'PERMISSION_DENIED',
			/may back up but not read backup headers \(RESTORE HEADERONLY needs CREATE DATABASE permission\)/,
		);
		fake.canReadHeaders = true;
		fake.server = { ...fake.server, edition: 'SQL Azure', engineEdition: 5 };
		await expectError(backup('full'), 'UNSUPPORTED_OPTION', /cannot write backups to a disk file/);
		expect(backupStatements()).toEqual([]);
		expect(await readdir(share)).toEqual([]);
	});

	it('a failed BACKUP (service account cannot write the share) removes the set and says what to fix', async () => {
		fake.failOn(
			/^BACKUP/,
			sqlError(
				3201,
				"Cannot open backup device 'D:\\Backup\\n8n\\x.bak'. Operating system error 5(Access is denied.).",
			),
		);
		const error = await expectError(
			backup('full'),
			'DUMP_FAILED',
			/BACKUP DATABASE of PROTHEUS on backup_n8n@sqlprod01:1433\/PROTHEUS could not use the backup file: Msg 3201/,
		);
		expect(error.hint).toMatch(/service account must be able to write/);
		expect(await readdir(join(share, 'prod'))).toEqual([]);
	});
});

describe('SQL Server differential and log backups', () => {
	it('a differential names the full set it is based on', async () => {
		const full = await backup('full');
		const diff = await backup('differential');
		const m = manifestOf(diff.manifest, 'sqlserver');
		expect(m.type).toBe('differential');
		expect(m.baseBackupId).toBe(full.manifest.backupId);
		expect(m.parentBackupId).toBe(full.manifest.backupId);
		expect(m.inventory.backup.lsn.databaseBackup).toBe(
			manifestOf(full.manifest, 'sqlserver').inventory.backup.lsn.checkpoint,
		);
		expect(backupStatements()[1]).toMatch(
			/^BACKUP DATABASE \[PROTHEUS\] TO DISK = N'[^']+_DIFF\.bak' WITH DIFFERENTIAL, CHECKSUM, COMPRESSION, NAME/,
		);
	});

	it('logs chain to the full and then to each other', async () => {
		const full = await backup('full');
		const log1 = await backup('log');
		const log2 = await backup('log');
		expect(log1.manifest).toMatchObject({
			type: 'log',
			baseBackupId: full.manifest.backupId,
			parentBackupId: full.manifest.backupId,
		});
		expect(log2.manifest).toMatchObject({
			type: 'log',
			baseBackupId: full.manifest.backupId,
			parentBackupId: log1.manifest.backupId,
		});
		const lsn = (r: typeof log1) => manifestOf(r.manifest, 'sqlserver').inventory.backup.lsn;
		expect(lsn(log2).first).toBe(lsn(log1).last);
		expect(backupStatements()[2]).toMatch(
			/^BACKUP LOG \[PROTHEUS\] TO DISK = N'[^']+_LOG\.trn' WITH CHECKSUM, COMPRESSION, NAME/,
		);
	});

	it('a log backup on SIMPLE recovery fails clearly, before anything is written', async () => {
		fake.database.recoveryModel = 'SIMPLE';
		await backup('full');
		const error = await expectError(
			backup('log', { promoteToFull: true }),
			'UNSUPPORTED_OPTION',
			/"PROTHEUS" on .* uses the SIMPLE recovery model, which keeps no log to back up/,
		);
		expect(error.hint).toMatch(/SET RECOVERY FULL/);
		expect(backupStatements()).toHaveLength(1);
		expect((await listSets(share, 'prod')).sets).toHaveLength(1);
	});

	it('no full base: fails clearly, or becomes a full with "promote to full"', async () => {
		const error = await expectError(
			backup('differential'),
			'BACKUP_CHAIN_BROKEN',
			/Cannot take a differential backup of "PROTHEUS": the database has never had a full backup/,
		);
		expect(error.hint).toMatch(/Promote to Full When No Base/);
		await expectError(backup('log'), 'BACKUP_CHAIN_BROKEN', /its log chain has not started/);
		expect(backupStatements()).toEqual([]);
		const promoted = await backup('log', { promoteToFull: true });
		expect(promoted.manifest.type).toBe('full');
		expect(promoted.manifest.backupId).toMatch(/-full-db$/);
		expect(backupStatements()[0]).toMatch(/^BACKUP DATABASE \[PROTHEUS\]/);
		expect(
			logged.some((l) => /^warn No base for a log backup of PROTHEUS: .*Making a full backup instead/.test(l)),
		).toBe(true);
	});

	it('a base full taken by another tool is not a base for our differential', async () => {
		await backup('full');
		// A maintenance plan's full, not in our staging folder, moves the differential base.
		fake.history.push({
			...fake.history[0],
			name: 'Maintenance plan full',
			checkpoint: 99000000000000037n,
			device: 'E:\\MP\\PROTHEUS.bak',
		});
		await expectError(
			backup('differential'),
			'BACKUP_CHAIN_BROKEN',
			/its newest full backup \("Maintenance plan full" to E:\\MP\\PROTHEUS\.bak, checkpoint LSN 99000000000000037\) is not a set in/,
		);
	});

	it('a log whose chain is not in the staging folder fails before BACKUP LOG truncates anything', async () => {
		await backup('full');
		const sets = (await listSets(share, 'prod')).sets;
		await rm(sets[0].folder, { recursive: true });
		await expectError(
			backup('log'),
			'BACKUP_CHAIN_BROKEN',
			/no set in .* reaches LSN \d+, where the next log backup starts/,
		);
		expect(backupStatements()).toHaveLength(1);
	});

	it('a full whose header cannot be read is removed from the share with its set', async () => {
		fake.failOn(/^RESTORE HEADERONLY/, sqlError(3241, 'The media family on device is incorrectly formed.'));
		await expectError(
			backup('full'),
			'RESTORE_FAILED',
			/^Reading the new backup D:\\Backup\\n8n\\prod-.*_PROTHEUS_FULL\.bak failed on .*: Msg 3241: The media family on device is incorrectly formed/,
		);
		expect(await readdir(share)).toEqual(['prod']);
		expect(await readdir(join(share, 'prod'))).toEqual([]);
	});

	it('copy-only differentials are refused', async () => {
		await expectError(
			backup('differential', { copyOnly: true }),
			'UNSUPPORTED_OPTION',
			/Copy-only applies to full and log backups/,
		);
	});

	it('a log backup that failed after BACKUP LOG keeps its file (the only copy of that log)', async () => {
		await backup('full');
		fake.crashOn(/^RESTORE HEADERONLY/, new Error('Connection lost - read ECONNRESET'));
		const error = (await backup('log').catch((e: unknown) => e)) as BackupError;
		expect(error).toBeInstanceOf(BackupError);
		expect(error.hint).toMatch(/its file was kept as .*_PROTHEUS_LOG\.trn/);
		const kept = (await readdir(share)).filter((f) => f.endsWith('_PROTHEUS_LOG.trn'));
		expect(kept).toHaveLength(1);
		expect((await listSets(share, 'prod')).sets).toHaveLength(1);
	});
});
