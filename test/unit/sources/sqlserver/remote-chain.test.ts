/**
 * SQL Server Restore Test / Restore "From a Destination", at the core: the set and the sets its
 * restore needs are downloaded from a Local / Network Folder destination into a private folder
 * INSIDE the folder shared with SQL Server (the scripted FakeSqlServer reads them there, through
 * the server's path), restored, and removed afterwards unless kept.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { BackupResult } from '../../../../core/backup';
import { LocalFolderDestination } from '../../../../core/destinations';
import { BackupError } from '../../../../core/errors';
import { silentLogger } from '../../../../core/logger';
import { fetchRemoteSqlServerChain } from '../../../../core/restore-test/remote/sqlserver';
import {
	runSqlServerSetRestore,
	runSqlServerSetRestoreTest,
} from '../../../../core/sources/sqlserver/restore/set-restore';
import { uploadSet } from '../../../../core/upload/set-transfer';
import { makeTestbed, type Testbed } from './testbed';

const SERVER_FOLDER = 'D:\\Backup\\n8n';
let bed: Testbed;
let offsite: LocalFolderDestination;
let offsiteFolder: string;
let dumps: string;
const lock = { owner: { hostname: hostname(), pid: process.pid, executionId: 'test' }, options: { waitMs: 0 } };

beforeEach(async () => {
	bed = await makeTestbed(SERVER_FOLDER);
	offsiteFolder = join(bed.root, 'offsite');
	dumps = join(bed.root, 'dumps');
	await mkdir(offsiteFolder);
	await mkdir(dumps);
	offsite = new LocalFolderDestination({ type: 'local', folder: offsiteFolder });
});
afterEach(() => bed.dispose());

/** Backs up into a staging folder outside the share, uploads to the offsite folder, and removes the local copy. */
async function backupOffsite(type: 'full' | 'differential' | 'log'): Promise<BackupResult> {
	const set = await bed.backup(type, {}, dumps);
	await uploadSet(offsite, set.folder, { lock });
	return set;
}

const fetch = (options: { backupId?: string; stagingFolder?: string } = {}) =>
	fetchRemoteSqlServerChain(offsite, {
		environment: 'prod',
		sharedFolder: () => ({ serverFolder: SERVER_FOLDER, localFolder: bed.share }),
		logger: silentLogger,
		...options,
	});

const downloadFolders = async () =>
	(await readdir(bed.share)).filter((name) => name.startsWith('.restore-test-download-'));

describe('SQL Server sets from a destination', () => {
	it('downloads the whole chain into the shared folder, restores it from there, and removes it', async () => {
		const full = await backupOffsite('full');
		await backupOffsite('log');
		const diff = await backupOffsite('differential');
		const log = await backupOffsite('log');
		// Nothing but the destination holds the sets now.
		await rm(dumps, { recursive: true, force: true });
		expect(await readdir(bed.share)).toEqual([]);

		const fetched = await fetch();
		const [work] = await downloadFolders();
		expect(work).toBeDefined();
		expect(fetched.backupId).toBe(log.manifest.backupId);
		expect(fetched.chain).toEqual([full.manifest.backupId, diff.manifest.backupId, log.manifest.backupId]);
		expect(fetched.folder).toBe(join(bed.share, work, 'prod', log.manifest.backupId));
		expect(fetched.remotePath).toBe(`prod/${log.manifest.backupId}`);
		expect(fetched.downloadedBytes).toBe(
			[full, diff, log].reduce((sum, s) => sum + s.manifest.artifacts.reduce((a, x) => a + x.bytes, 0), 0),
		);
		expect((await readdir(join(bed.share, work, 'prod'))).sort()).toEqual(fetched.chain.slice().sort());

		bed.fake.statements.length = 0;
		const report = await runSqlServerSetRestoreTest({
			folder: fetched.folder,
			connect: async () => bed.fake.runner(),
			sharedFolder: () => fetched.shared,
			log: silentLogger,
		});
		expect(report.checks.filter((c) => !c.ok)).toEqual([]);
		expect(report.passed).toBe(true);
		// SQL Server read the downloaded copies through its own path to the share.
		const restored = bed.fake.statements
			.filter((s) => /^RESTORE (DATABASE|LOG) .* FROM DISK/.test(s))
			.map((s) => /FROM DISK = N'([^']*)'/.exec(s)![1]);
		expect(restored).toEqual(
			[full, diff, log].map(
				(s) => `${SERVER_FOLDER}\\${work}\\prod\\${s.manifest.backupId}\\${s.manifest.artifacts[0].path}`,
			),
		);

		expect(await fetched.finish(false)).toBeUndefined();
		expect(await readdir(bed.share)).toEqual([]);
	});

	it('Restore from a destination: the downloaded chain is restored into the target, then removed', async () => {
		await backupOffsite('full');
		const log = await backupOffsite('log');
		const fetched = await fetch({ backupId: log.manifest.backupId });
		const report = await runSqlServerSetRestore({
			folder: fetched.folder,
			connect: async () => bed.fake.runner(),
			sharedFolder: () => fetched.shared,
			target: 'PROTHEUS_DR',
			replaceExisting: false,
			allowSourceDatabase: false,
			log: silentLogger,
		});
		expect(report).toMatchObject({ passed: true, database: 'PROTHEUS_DR', replaced: false });
		expect([...bed.fake.existingDatabases]).toEqual(['PROTHEUS_DR']);
		await fetched.finish(false);
		expect(await downloadFolders()).toEqual([]);
	});

	it('"Keep Downloaded Set" moves every set of the chain to <shared folder>/<environment>/<id>', async () => {
		const full = await backupOffsite('full');
		const log = await backupOffsite('log');
		const fetched = await fetch();
		const keptAt = await fetched.finish(true);
		expect(keptAt).toBe(join(bed.share, 'prod', log.manifest.backupId));
		expect((await readdir(join(bed.share, 'prod'))).sort()).toEqual(
			[full.manifest.backupId, log.manifest.backupId].sort(),
		);
		expect(await downloadFolders()).toEqual([]);
		expect(JSON.parse(await readFile(join(keptAt!, 'manifest.json'), 'utf8')).backupId).toBe(log.manifest.backupId);
	});

	it('a staging folder inside the share is used; one outside it is refused before anything is downloaded', async () => {
		await backupOffsite('full');
		const inside = join(bed.share, 'restores');
		await mkdir(inside);
		const fetched = await fetch({ stagingFolder: inside });
		expect(fetched.folder.startsWith(join(inside, '.restore-test-download-'))).toBe(true);
		await fetched.finish(false);
		expect(await readdir(inside)).toEqual([]);
		const error = (await fetch({ stagingFolder: dumps }).catch((e: unknown) => e)) as BackupError;
		expect(error).toBeInstanceOf(BackupError);
		expect(error.code).toBe('INVALID_INPUT');
		expect(error.message).toBe(
			`Staging folder ${dumps} is not inside the folder shared with SQL Server (${bed.share})`,
		);
		expect(await readdir(dumps)).toEqual(['prod']);
	});

	it('a damaged copy of a set of the chain fails verification; nothing is left in the share', async () => {
		const full = await backupOffsite('full');
		await backupOffsite('log');
		const file = join(offsiteFolder, 'prod', full.manifest.backupId, full.manifest.artifacts[0].path);
		const bytes = await readFile(file);
		bytes[1000] ^= 0xff;
		await writeFile(file, bytes);
		const error = (await fetch().catch((e: unknown) => e)) as BackupError;
		expect(error.code).toBe('VERIFY_FAILED');
		expect(error.message).toMatch(
			new RegExp(
				`^Backup set ${full.manifest.backupId} downloaded from file://.* failed verification, nothing was restored: artifacts: `,
			),
		);
		expect(await readdir(bed.share)).toEqual([]);
	});

	it('a chain whose full is not on the destination is refused before downloading', async () => {
		const full = await backupOffsite('full');
		await backupOffsite('log');
		await rm(join(offsiteFolder, 'prod', full.manifest.backupId), { recursive: true });
		const error = (await fetch().catch((e: unknown) => e)) as BackupError;
		expect(error.code).toBe('BACKUP_CHAIN_BROKEN');
		expect(error.message).toMatch(/sets on file:\/\/.*\/prod\)$/);
		expect(await readdir(bed.share)).toEqual([]);
	});

	it('refuses an unknown backup ID, and an environment without complete SQL Server sets', async () => {
		const full = await backupOffsite('full');
		const manifestPath = join(offsiteFolder, 'prod', full.manifest.backupId, 'manifest.json');
		await expect(fetch({ backupId: 'prod-20200101T000000Z-full-db' })).rejects.toMatchObject({ code: 'SET_NOT_FOUND' });
		await rm(manifestPath);
		await expect(fetch()).rejects.toMatchObject({
			code: 'SET_NOT_FOUND',
			message: expect.stringMatching(/^No complete SQL Server database set of environment prod on file:/),
		});
	});
});
