/**
 * Restore Test of Protheus file sets with the real writer and restore: a chain (full →
 * incrementals) made from an appserver.ini, tested as of its newest set and as of an earlier
 * incremental; the tree read back from disk against the index, the Protheus paths of the ini
 * found in the restored tree. Bad input: a missing incremental, a damaged archive, a Protheus
 * check failing (kept on request), cancel in the middle. The scratch folder never stays behind
 * unless kept on request.
 */
import { appendFile, chmod, cp, mkdir, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackupResult } from '../../core/backup';
import { isBackupError } from '../../core/errors';
import { silentLogger, type Logger } from '../../core/logger';
import { restoreReportHtml, restoreTestSet } from '../../core/restore-test';
import { runFilesRestoreTest } from '../../core/sources/protheus-files/restore-test';
import { age, createProtheusTree, filesBackup, type ProtheusTree } from '../../support/fixtures/protheus-tree';

let work: string;
let tree: ProtheusTree;
let staging: string;
let scratchParent: string;
const chain: BackupResult[] = [];
const fromIni = () => ({ appserverIni: tree.appserverIni });

beforeAll(async () => {
	work = mkdtempSync(join(tmpdir(), 'totvs-files-rt-'));
	tree = await createProtheusTree(join(work, 'totvs'), {
		smallFiles: 120,
		rpoBytes: 512 << 10,
		tables: 2,
		tableBytes: 64 << 10,
	});
	staging = join(work, 'staging');
	await mkdir(staging);
	chain.push(await filesBackup(staging, 'full', fromIni()));
	const d = tree.protheusData;
	await age(join(d, 'system/sigamat.emp'), 0);
	await appendFile(join(d, 'system/sigamat.emp'), 'novo registro');
	await unlink(join(d, 'web/000/arquivo 1.htm'));
	await chmod(join(d, 'system/sigacom.xnu'), 0o640);
	chain.push(await filesBackup(staging, 'incremental', fromIni()));
	await rm(join(d, 'profile/000'), { recursive: true });
	await writeFile(join(d, 'profile/novo.prf'), 'idioma=pt-BR\n');
	chain.push(await filesBackup(staging, 'incremental', fromIni()));
}, 300_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeEach(async () => {
	scratchParent = mkdtempSync(join(work, 'scratch-'));
});

const names = (checks: Array<{ name: string }>) => checks.map((c) => c.name);
const byName = (checks: Array<{ name: string; ok: boolean; message: string; actual: string }>, name: string) =>
	checks.find((c) => c.name === name)!;

describe('Restore Test of a Protheus file set', () => {
	it('passes every check for the newest set of a chain, and removes its scratch folder', async () => {
		const report = await runFilesRestoreTest({
			folder: chain[2].folder,
			scratchFolder: scratchParent,
			keepOnFailure: false,
			log: silentLogger,
		});
		// Owners are set and checked only as root (like tar -x).
		const asRoot = process.getuid?.() === 0;
		expect(report.checks.filter((c) => !c.ok)).toEqual(
			asRoot ? [] : [expect.objectContaining({ name: 'owners', notRun: true })],
		);
		if (asRoot) expect(byName(report.checks, 'owners').actual).toMatch(/entries as recorded/);
		expect(report.passed).toBe(true);
		expect(names(report.checks)).toEqual([
			'manifest',
			'artifacts',
			'archive',
			'chain',
			'restore',
			'tree',
			'modes',
			'owners',
			'deletions',
			'extra',
			'ini appserver.ini',
			'P12 RootPath',
			'P12 SourcePath',
			'P12 RpoCustom',
			'P12 RpoTlpp',
		]);
		expect(byName(report.checks, 'restore').actual).toContain(chain[0].manifest.backupId);
		expect(byName(report.checks, 'deletions').message).toContain('protheus_data/profile/000');
		expect(byName(report.checks, 'deletions').message).toContain('protheus_data/web/000/arquivo 1.htm');
		expect(byName(report.checks, 'P12 SourcePath').actual).toContain('tttm120.rpo');
		expect(byName(report.checks, 'P12 RpoCustom').actual).toMatch(/^apo\/custom\.rpo: \d+ bytes$/);
		expect(report.restoreMs).toBeGreaterThan(0);
		expect(report.kept).toBe(false);
		expect(await readdir(scratchParent)).toEqual([]);

		for (const language of ['en', 'pt-BR'] as const) {
			const html = restoreReportHtml(report, language);
			expect(html).toContain(chain[2].manifest.backupId);
			expect(html).toContain('P12 RpoCustom');
			expect(html).toContain(language === 'en' ? 'PASSED' : 'APROVADO');
		}
	});

	it('restores "as of" an earlier incremental: its deletions, not the later ones', async () => {
		const report = await restoreTestSet({
			folder: chain[1].folder,
			server: { engine: 'protheus-files', scratchFolder: scratchParent },
			keepOnFailure: false,
			log: silentLogger,
		});
		expect(report.passed).toBe(true);
		expect(report.backupId).toBe(chain[1].manifest.backupId);
		expect(byName(report.checks, 'deletions').message).toContain('protheus_data/web/000/arquivo 1.htm');
		expect(byName(report.checks, 'deletions').message).not.toContain('protheus_data/profile/000');
		expect(await readdir(scratchParent)).toEqual([]);
	});

	it('a database restore server for a files set is refused with what to choose', async () => {
		await expect(
			restoreTestSet({
				folder: chain[0].folder,
				server: { engine: 'sqlserver', connect: () => Promise.reject(new Error('unused')), sharedFolder: (s) => s },
				keepOnFailure: false,
				log: silentLogger,
			}),
		).rejects.toThrow(/protheus-files files set, but the restore server is SQL Server/);
	});
});

describe('Restore Test of a Protheus file set: bad input', () => {
	/** A copy of the chain's folder, so a fault never touches the sets the other tests use. */
	async function copyOfChain(): Promise<string> {
		const copy = mkdtempSync(join(work, 'copy-'));
		await cp(join(staging, 'p12'), join(copy, 'p12'), { recursive: true });
		return join(copy, 'p12');
	}

	it('a chain with a missing incremental fails, naming it; the other sets are untouched', async () => {
		const env = await copyOfChain();
		const middle = chain[1].manifest.backupId;
		await rm(join(env, middle), { recursive: true });
		const report = await runFilesRestoreTest({
			folder: join(env, chain[2].manifest.backupId),
			scratchFolder: scratchParent,
			keepOnFailure: false,
			log: silentLogger,
		});
		expect(report.passed).toBe(false);
		expect(byName(report.checks, 'chain').message).toContain(`needs its parent ${middle}, which is missing`);
		expect(byName(report.checks, 'restore').actual).toBe('not attempted');
		expect((await readdir(env)).sort()).toEqual([chain[0], chain[2]].map((s) => s.manifest.backupId).sort());
		expect(await readdir(scratchParent)).toEqual([]);
	});

	it('a damaged archive fails before anything is restored, naming the file', async () => {
		const env = await copyOfChain();
		const full = join(env, chain[0].manifest.backupId, 'files.tar.zst');
		const bytes = await readFile(full);
		bytes[Math.floor(bytes.length / 2)] ^= 0xff;
		await writeFile(full, bytes);
		const report = await runFilesRestoreTest({
			folder: join(env, chain[2].manifest.backupId),
			scratchFolder: scratchParent,
			keepOnFailure: false,
			log: silentLogger,
		});
		expect(report.passed).toBe(false);
		const chainCheck = byName(report.checks, 'chain');
		expect(chainCheck.ok).toBe(false);
		expect(chainCheck.message).toContain(chain[0].manifest.backupId);
		expect(chainCheck.message).toContain('files.tar.zst');
		expect(byName(report.checks, 'restore').actual).toBe('not attempted');
		expect(await readdir(scratchParent)).toEqual([]);
	});

	it('a damaged archive of the tested set itself: the artifacts and archive checks name the file', async () => {
		const env = await copyOfChain();
		const full = join(env, chain[0].manifest.backupId, 'files.tar.zst');
		const bytes = await readFile(full);
		bytes[Math.floor(bytes.length / 2)] ^= 0xff;
		await writeFile(full, bytes);
		const report = await runFilesRestoreTest({
			folder: join(env, chain[0].manifest.backupId),
			scratchFolder: scratchParent,
			keepOnFailure: false,
			log: silentLogger,
		});
		expect(report.passed).toBe(false);
		expect(byName(report.checks, 'artifacts').message).toContain('files.tar.zst');
		const archive = byName(report.checks, 'archive');
		expect(archive.ok).toBe(false);
		expect(archive.message).toMatch(/files\.tar\.zst/);
	});

	it('a Protheus path missing from the tree fails its check; the tree is kept when asked', async () => {
		const small = join(work, 'broken-ini');
		await mkdir(join(small, 'apo'), { recursive: true });
		await mkdir(join(small, 'data', 'system'), { recursive: true });
		await writeFile(join(small, 'apo', 'tttm120.rpo'), 'rpo');
		await writeFile(join(small, 'apo', 'custom.rpo'), ''); // an empty custom RPO: AppServer would not start
		await writeFile(join(small, 'data', 'system', 'sx2010.dtc'), 'dtc');
		await writeFile(
			join(small, 'appserver.ini'),
			`[P12]\r\nSourcePath=${join(small, 'apo')}\r\nRootPath=${join(small, 'data')}\r\nRpoCustom=${join(small, 'apo', 'custom.rpo')}\r\n` +
				`RPOTLPP=C:\\TOTVS\\apo\\tlpp.rpo\r\n`,
		);
		const smallStaging = join(work, 'broken-staging');
		await mkdir(smallStaging);
		// The folder given directly (the ini inside it): the ini's Windows path is outside what was backed up.
		const set = await filesBackup(smallStaging, 'full', { folders: [small], protheusDefaults: false });
		const report = await runFilesRestoreTest({
			folder: set.folder,
			scratchFolder: scratchParent,
			keepOnFailure: true,
			log: silentLogger,
		});
		expect(report.passed).toBe(false);
		expect(byName(report.checks, 'P12 RpoCustom')).toMatchObject({
			ok: false,
			actual: 'broken-ini/apo/custom.rpo: empty',
		});
		expect(byName(report.checks, 'P12 RpoTlpp')).toMatchObject({ ok: false, notRun: true });
		expect(byName(report.checks, 'P12 RpoTlpp').message).toContain('outside the backed-up folders');
		expect(byName(report.checks, 'P12 SourcePath').ok).toBe(true);
		expect(report.kept).toBe(true);
		expect(report.database).toContain(scratchParent);
		expect(await readdir(join(report.database!, 'broken-ini'))).toEqual(
			expect.arrayContaining(['apo', 'appserver.ini']),
		);
		await rm(report.database!, { recursive: true });
	});

	it('cancel in the middle stops the restore and removes the scratch folder', async () => {
		const controller = new AbortController();
		const log: Logger = {
			...silentLogger,
			info: (message: string) => {
				if (message.startsWith('Restoring')) controller.abort();
			},
		};
		const error = await runFilesRestoreTest({
			folder: chain[2].folder,
			scratchFolder: scratchParent,
			keepOnFailure: true,
			log,
			signal: controller.signal,
		}).catch((e: unknown) => e);
		expect(isBackupError(error) && error.code).toBe('CANCELLED');
		expect((error as Error).message).toMatch(/cancelled/);
		expect(await readdir(scratchParent)).toEqual([]);
	});
});
