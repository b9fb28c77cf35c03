/**
 * Real recovery of Protheus file sets (restoreFilesSet, and restoreSet / fetchRemoteSet for a
 * files set): a chain restored into a new folder; into a non-empty folder only with Replace,
 * which restores beside it, checks, swaps in and keeps the old tree aside under the name the
 * report gives. Bad input: a non-empty target without Replace, a missing incremental (locally
 * and on a destination, named), a damaged archive (file and entry named), a full disk (the old
 * tree intact), cancel in the middle (no copy left, target untouched).
 */
import { appendFile, cp, mkdir, readdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackupResult } from '../../core/backup';
import { LocalFolderDestination } from '../../core/destinations';
import { BackupError, isBackupError } from '../../core/errors';
import { silentLogger, type Logger } from '../../core/logger';
import { fetchRemoteSet, restoreFilesSet, restoreSet } from '../../core/restore-test';
import { readSetArchive } from '../../core/sources/protheus-files/archive-reader';
import { age, createProtheusTree, filesBackup, type ProtheusTree } from '../../support/fixtures/protheus-tree';
import { mountSmallDisk } from '../../support/small-disk';

let work: string;
let tree: ProtheusTree;
let staging: string;
const chain: BackupResult[] = [];
const fromIni = () => ({ appserverIni: tree.appserverIni });
const restoreArgs = (folder: string, target: string, replace = false) => ({
	folder,
	target,
	replace,
	keepOnFailure: false,
	log: silentLogger,
});
const failureOf = async (promise: Promise<unknown>): Promise<BackupError> => {
	const error = await promise.then(
		() => undefined,
		(e: unknown) => e,
	);
	if (!isBackupError(error)) throw new Error(`expected a BackupError, got ${String(error)}`);
	return error;
};
const leftovers = async (parent: string) => (await readdir(parent)).filter((n) => n.includes('.totvs-restoring-'));

beforeAll(async () => {
	work = mkdtempSync(join(tmpdir(), 'totvs-files-restore-'));
	tree = await createProtheusTree(join(work, 'totvs'), { smallFiles: 80, rpoBytes: 256 << 10, tables: 2 });
	staging = join(work, 'staging');
	await mkdir(staging);
	chain.push(await filesBackup(staging, 'full', fromIni()));
	const d = tree.protheusData;
	await age(join(d, 'system/sigamat.emp'), 0);
	await appendFile(join(d, 'system/sigamat.emp'), 'novo registro');
	await unlink(join(d, 'web/000/arquivo 1.htm'));
	chain.push(await filesBackup(staging, 'incremental', fromIni()));
	await writeFile(join(d, 'profile/novo.prf'), 'idioma=pt-BR\n');
	chain.push(await filesBackup(staging, 'incremental', fromIni()));
}, 300_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('Restore Files', () => {
	it('restores the whole chain into a new folder and records the time and bytes', async () => {
		const target = join(work, 'restored-new', 'totvs');
		const report = await restoreFilesSet(restoreArgs(chain[2].folder, target));
		expect(report.checks.filter((c) => !c.ok && !c.notRun)).toEqual([]);
		expect(report.passed).toBe(true);
		expect(report.replaced).toBe(false);
		expect(report.oldTree).toBeNull();
		expect(report.chain).toEqual(chain.map((c) => c.manifest.backupId));
		expect(report.restoredBytes).toBeGreaterThan(256 << 10);
		expect(report.restoreMs).toBeGreaterThan(0);
		const restoredEmp = join(target, 'protheus_data', 'system', 'sigamat.emp');
		expect(readFileSync(restoredEmp, 'utf8')).toContain('novo registro');
		expect(existsSync(join(target, 'protheus_data', 'web', '000', 'arquivo 1.htm'))).toBe(false);
		expect(await leftovers(join(work, 'restored-new'))).toEqual([]);
	});

	it('refuses a non-empty target without Replace and leaves it untouched', async () => {
		const target = join(work, 'busy');
		await mkdir(target);
		writeFileSync(join(target, 'mine.txt'), 'do not lose me');
		const error = await failureOf(restoreFilesSet(restoreArgs(chain[2].folder, target)));
		expect(error.code).toBe('TARGET_EXISTS');
		expect(error.message).toContain(target);
		expect(error.hint).toContain('Replace');
		expect(await readdir(target)).toEqual(['mine.txt']);
		expect(await leftovers(work)).toEqual([]);
	});

	it('with Replace restores beside the target, checks, swaps in and keeps the old tree aside', async () => {
		const parent = join(work, 'replace');
		const target = join(parent, 'totvs');
		await mkdir(target, { recursive: true });
		writeFileSync(join(target, 'old-appserver.ini'), 'old tree');
		const report = await restoreSet({
			folder: chain[2].folder,
			server: { engine: 'protheus-files' },
			target,
			replaceExisting: true,
			allowSourceDatabase: false,
			keepOnFailure: false,
			log: silentLogger,
		});
		expect(report.passed).toBe(true);
		expect(report.replaced).toBe(true);
		const oldTree = report.oldTree!;
		expect(oldTree).toMatch(/totvs\.totvs-old-\d{8}T\d{6}Z/);
		expect(readFileSync(join(oldTree, 'old-appserver.ini'), 'utf8')).toBe('old tree');
		expect(existsSync(join(target, 'old-appserver.ini'))).toBe(false);
		expect(existsSync(join(target, 'protheus_data', 'profile', 'novo.prf'))).toBe(true);
		expect(report.checks.at(-1)).toMatchObject({ name: 'swap', ok: true });
		expect(await leftovers(parent)).toEqual([]);
	});

	it('names the missing incremental of a chain, locally and on a destination', async () => {
		const copy = join(work, 'missing-incremental');
		await cp(staging, copy, { recursive: true });
		const missing = chain[1].manifest.backupId;
		await rm(join(copy, 'p12', missing), { recursive: true });
		const target = join(work, 'restored-missing');
		const report = await restoreFilesSet(restoreArgs(join(copy, 'p12', chain[2].manifest.backupId), target));
		expect(report.passed).toBe(false);
		const chainCheck = report.checks.find((c) => c.name === 'chain')!;
		expect(chainCheck.ok).toBe(false);
		expect(chainCheck.message).toContain(missing);
		expect(existsSync(target)).toBe(false);

		const destination = new LocalFolderDestination({ type: 'local', folder: copy });
		const error = await failureOf(
			fetchRemoteSet(
				destination,
				{ engine: 'protheus-files' },
				{
					environment: 'p12',
					backupId: chain[2].manifest.backupId,
					stagingFolder: mkdtempSync(join(work, 'dl-')),
				},
			),
		);
		expect(error.code).toBe('BACKUP_CHAIN_BROKEN');
		expect(error.message).toContain(missing);
	});

	it('downloads a files chain from a destination, verified, and removes it when done', async () => {
		const destination = new LocalFolderDestination({ type: 'local', folder: staging });
		const download = mkdtempSync(join(work, 'dl-'));
		const fetched = await fetchRemoteSet(
			destination,
			{ engine: 'protheus-files' },
			{
				environment: 'p12',
				backupId: chain[1].manifest.backupId,
				stagingFolder: download,
			},
		);
		expect(fetched.chain).toEqual([chain[0].manifest.backupId, chain[1].manifest.backupId]);
		const report = await restoreFilesSet(restoreArgs(fetched.folder, join(work, 'restored-as-of')));
		expect(report.passed).toBe(true);
		// As of the first incremental: the profile written after it is not there.
		expect(existsSync(join(work, 'restored-as-of', 'protheus_data', 'profile', 'novo.prf'))).toBe(false);
		await fetched.finish(false);
		expect(await readdir(download)).toEqual([]);
	});

	it('names the archive and the entry of a damaged archive', async () => {
		const copy = join(work, 'damaged');
		await cp(join(staging, 'p12', chain[0].manifest.backupId), join(copy, 'p12', chain[0].manifest.backupId), {
			recursive: true,
		});
		const manifest = chain[0].manifest;
		const artifact = manifest.artifacts.find((a) => a.kind === 'tar')!;
		const path = join(copy, 'p12', manifest.backupId, ...artifact.path.split('/'));
		// Cut the archive in the middle of the RPO (the largest entry): a truncated copy.
		await truncate(path, Math.floor(artifact.bytes * 0.6));
		const error = await failureOf(
			readSetArchive(
				join(copy, 'p12', manifest.backupId),
				manifest,
				artifact,
				manifest.compression.method,
				async (entry) => {
					for await (const _chunk of entry.stream) void _chunk;
				},
			),
		);
		expect(error.message).toContain(artifact.path.split('/').pop()!);
		expect(error.message).toMatch(/entry "[^"]+"/);

		const target = join(work, 'restored-damaged');
		const report = await restoreFilesSet(restoreArgs(join(copy, 'p12', manifest.backupId), target));
		expect(report.passed).toBe(false);
		expect(
			report.checks
				.filter((c) => !c.ok)
				.map((c) => c.message)
				.join(' '),
		).toContain(artifact.path);
		expect(existsSync(target)).toBe(false);
	});

	it('cancelled in the middle: no copy left, the target untouched', async () => {
		const parent = join(work, 'cancel');
		const target = join(parent, 'totvs');
		await mkdir(target, { recursive: true });
		writeFileSync(join(target, 'keep.txt'), 'untouched');
		const controller = new AbortController();
		// Cancel once the second set of the chain starts extracting.
		let sets = 0;
		const log: Logger = {
			...silentLogger,
			info: (message: string) => {
				if (message.startsWith('Restoring ') && ++sets === 2) controller.abort();
			},
		};
		const error = await failureOf(
			restoreFilesSet({ ...restoreArgs(chain[2].folder, target, true), log, signal: controller.signal }),
		);
		expect(error.code).toBe('CANCELLED');
		expect(await readdir(parent)).toEqual(['totvs']);
		expect(await readdir(target)).toEqual(['keep.txt']);
		expect(await readFile(join(target, 'keep.txt'), 'utf8')).toBe('untouched');
	});
});

const disk = mountSmallDisk(1 << 20);
const onSmallDisk = typeof disk === 'string' ? it.skip : it;
afterAll(() => {
	if (typeof disk !== 'string') disk.unmount();
});

describe('Restore Files on a full disk', () => {
	onSmallDisk(
		`leaves the old tree intact and no partial copy${typeof disk === 'string' ? ` (skipped: ${disk})` : ''}`,
		async () => {
			const root = (disk as { path: string }).path;
			const target = join(root, 'totvs');
			await mkdir(target);
			writeFileSync(join(target, 'appserver.ini'), '[old]\n');
			const error = await failureOf(restoreFilesSet(restoreArgs(chain[2].folder, target, true)));
			expect(error.code).toBe('DISK_FULL');
			expect(error.message).toContain(target);
			expect(error.hint).toContain('not touched');
			expect(await readdir(root)).toEqual(['totvs']);
			expect(readFileSync(join(target, 'appserver.ini'), 'utf8')).toBe('[old]\n');
		},
	);
});
