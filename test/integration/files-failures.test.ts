/**
 * File sets when things go wrong, the way a user meets it: a missing parent, a tampered
 * archive, a malicious archive (../, absolute paths, links out of the target), a file
 * written to while it is read, and a host without zstd.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifestOf, type FileEntry } from '../../core/backup-set/manifest';
import { BackupError } from '../../core/errors';
import { silentLogger } from '../../core/logger';
import { restoreFilesChain } from '../../core/sources/protheus-files/restore/chain-restore';
import { verifyLocalSet } from '../../core/verify/verify-set';
import { mountSmallDisk } from '../../support/small-disk';

/** A real small disk needs root (mount -t tmpfs): probed once at collection time, so a test that cannot run is skipped with the reason. */
const noSmallDisk: string | undefined = (() => {
	const probe = mountSmallDisk(64 * 1024);
	if (typeof probe === 'string') return probe;
	probe.unmount();
	return undefined;
})();
import { replaceArchive } from '../fixtures/files-archive';
import { createProtheusTree, filesBackup, snapshotTree, type ProtheusTree } from '../../support/fixtures/protheus-tree';

let work: string;
let tree: ProtheusTree;
const folders = () => ({ folders: [tree.protheusData, tree.apo] });

beforeAll(async () => {
	work = mkdtempSync(join(tmpdir(), 'totvs-files-bad-'));
	tree = await createProtheusTree(join(work, 'totvs'), { smallFiles: 200, rpoBytes: 2 << 20, tables: 4 });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const newStaging = async (name: string) => {
	const folder = join(work, name);
	await mkdir(folder);
	return folder;
};

async function caught(promise: Promise<unknown>): Promise<BackupError> {
	try {
		await promise;
	} catch (error) {
		expect(error).toBeInstanceOf(BackupError);
		return error as BackupError;
	}
	throw new Error('expected a BackupError, nothing was thrown');
}

describe('missing parent', () => {
	it('refuses an incremental with no full, telling what to do', async () => {
		const staging = await newStaging('no-full');
		const error = await caught(filesBackup(staging, 'incremental', folders()));
		expect(error.code).toBe('BACKUP_CHAIN_BROKEN');
		expect(error.message).toContain(`Cannot make an incremental backup of ${tree.protheusData}`);
		expect(error.message).toContain('no backup of these folders exists');
		expect(error.hint).toContain('Promote to Full When No Base');
		expect(await readdir(join(staging))).toEqual([]); // nothing written, not even a folder
	});

	it('names the missing parent when the full was deleted, in backup, verify and restore', async () => {
		const staging = await newStaging('lost-full');
		const full = await filesBackup(staging, 'full', folders());
		const incremental = await filesBackup(staging, 'incremental', folders());
		await rm(full.folder, { recursive: true });

		const error = await caught(filesBackup(staging, 'incremental', folders()));
		expect(error.code).toBe('BACKUP_CHAIN_BROKEN');
		expect(error.message).toContain(`needs its parent ${full.manifest.backupId}, which is missing`);

		const { verification } = await verifyLocalSet(incremental.folder);
		const chain = verification.checks.find((c) => c.name === 'chain')!;
		expect(verification.ok).toBe(false);
		expect(chain.ok).toBe(false);
		expect(chain.message).toContain(full.manifest.backupId);

		const restoreError = await caught(
			restoreFilesChain({ setFolder: incremental.folder, target: join(work, 'lost-full-restore') }),
		);
		expect(restoreError.code).toBe('BACKUP_CHAIN_BROKEN');
		expect(restoreError.message).toContain(full.manifest.backupId);
		expect(existsSync(join(work, 'lost-full-restore'))).toBe(false);

		// With "promote to full", a full is made and the set says why.
		const promoted = await filesBackup(staging, 'incremental', { ...folders(), promoteToFull: true });
		const m = manifestOf(promoted.manifest, 'protheus-files');
		expect([m.type, m.baseBackupId, m.parentBackupId]).toEqual(['full', null, null]);
		expect(m.inventory.promotedToFull?.requested).toBe('incremental');
		expect(m.inventory.promotedToFull?.reason).toContain(`needs its parent ${full.manifest.backupId}`);
		expect((await verifyLocalSet(promoted.folder)).verification.ok).toBe(true);
	});
});

describe('tampered and malicious archives', () => {
	it('Verify fails naming the archive when its bytes were altered', async () => {
		const staging = await newStaging('tampered');
		const set = await filesBackup(staging, 'full', folders());
		const archive = join(set.folder, 'files.tar.zst');
		const bytes = await readFile(archive);
		bytes[Math.floor(bytes.length / 2)] ^= 0x55;
		await writeFile(archive, bytes);
		const { verification } = await verifyLocalSet(set.folder);
		expect(verification.ok).toBe(false);
		const artifacts = verification.checks.find((c) => c.name === 'artifacts')!;
		expect(artifacts.ok).toBe(false);
		expect(artifacts.message).toContain('files.tar.zst');
		expect(verification.checks.find((c) => c.name === 'archive')!.ok).toBe(false);
	});

	it('Verify walks the archive: a re-packed archive with one file changed is caught even with a matching artifact hash', async () => {
		const staging = await newStaging('repacked');
		const set = await filesBackup(staging, 'full', folders());
		const m = manifestOf(set.manifest, 'protheus-files');
		const victim = m.inventory.entries.find((e) => e.path.endsWith('sigamat.emp'))!;
		const entries = m.inventory.entries.map((e) => ({
			header: {
				name: e.path,
				type: e.type === 'dir' ? ('directory' as const) : e.type,
				mode: e.mode,
				linkname: e.target ?? undefined,
				size: e.size,
			},
			content: e.type === 'file' ? (e === victim ? Buffer.alloc(e.size, 1) : null) : undefined,
		}));
		// Real content for every file but the victim.
		for (const entry of entries)
			if (entry.content === null)
				entry.content = await readFile(
					join(entry.header.name.startsWith('apo/') ? tree.root : tree.root, entry.header.name),
				);
		await replaceArchive(set.folder, entries as never);
		const { verification } = await verifyLocalSet(set.folder);
		expect(verification.checks.find((c) => c.name === 'artifacts')!.ok).toBe(true);
		const walk = verification.checks.find((c) => c.name === 'archive')!;
		expect(walk.ok).toBe(false);
		expect(walk.message).toContain('protheus_data/system/sigamat.emp');
	});

	it.each([
		['a "../" entry', '../outside.txt', 'contains ".."'],
		['a nested "../" entry', 'protheus_data/../../outside.txt', 'contains ".."'],
		['an absolute entry', `${'/'}tmp/totvs-absolute-${process.pid}.txt`, 'is an absolute path'],
		['a Windows absolute entry', 'C:\\Windows\\evil.txt', 'is an absolute path'],
	])('refuses %s: clear error, nothing written outside the target', async (_what, name, reason) => {
		const staging = await newStaging(`evil-${Math.random().toString(36).slice(2)}`);
		const set = await filesBackup(staging, 'full', { folders: [join(tree.protheusData, 'web')] });
		await replaceArchive(set.folder, [
			{ header: { name: 'web', type: 'directory', mode: 0o755 } },
			{ header: { name, type: 'file', mode: 0o644 }, content: Buffer.from('pwned\n') },
		]);
		const sandbox = join(work, `sandbox-${Math.random().toString(36).slice(2)}`);
		const target = join(sandbox, 'a', 'target');
		await mkdir(join(sandbox, 'a'), { recursive: true });
		const error = await caught(restoreFilesChain({ setFolder: set.folder, target }));
		expect(error.code).toBe('UNSAFE_ARCHIVE');
		expect(error.message).toContain(reason);
		expect(await readdir(sandbox)).toEqual(['a']);
		expect(await readdir(join(sandbox, 'a'))).toEqual(['target']);
		expect(existsSync(join(sandbox, 'outside.txt'))).toBe(false);
		expect(existsSync(join(sandbox, 'a', 'outside.txt'))).toBe(false);
		expect(existsSync(`/tmp/totvs-absolute-${process.pid}.txt`)).toBe(false);
		// Verify says the same.
		const walk = (await verifyLocalSet(set.folder)).verification.checks.find((c) => c.name === 'archive')!;
		expect(walk.ok).toBe(false);
		expect(walk.message).toContain(reason);
	});

	it('does not create links pointing outside the target, nor write through any link', async () => {
		const staging = await newStaging('links');
		const set = await filesBackup(staging, 'full', { folders: [join(tree.protheusData, 'web')] });
		const outside = join(work, 'outside-dir');
		await mkdir(outside);
		const mtime = new Date().toISOString();
		const link = (path: string, target: string): FileEntry => ({
			path,
			type: 'symlink',
			size: 0,
			mtime,
			mode: 0o777,
			sha256: null,
			target,
			from: null,
		});
		const dir = (path: string): FileEntry => ({
			path,
			type: 'dir',
			size: 0,
			mtime,
			mode: 0o755,
			sha256: null,
			target: null,
			from: null,
		});
		await replaceArchive(
			set.folder,
			[
				{ header: { name: 'web', type: 'directory', mode: 0o755 } },
				{ header: { name: 'web/abs', type: 'symlink', linkname: outside } },
				{ header: { name: 'web/up', type: 'symlink', linkname: '../../outside-dir' } },
				{ header: { name: 'web/sneaky', type: 'symlink', linkname: 'inner/../../..' } },
				{ header: { name: 'web/ok', type: 'symlink', linkname: '../web/inner' } },
				{ header: { name: 'web/inner', type: 'directory', mode: 0o755 } },
			],
			() => [
				dir('web'),
				link('web/abs', outside),
				dir('web/inner'),
				link('web/ok', '../web/inner'),
				link('web/sneaky', 'inner/../../..'),
				link('web/up', '../../outside-dir'),
			],
		);
		const target = join(work, 'links-target');
		const result = await restoreFilesChain({ setFolder: set.folder, target });
		expect(result.refusedLinks.map((l) => l.path).sort()).toEqual(['web/abs', 'web/sneaky', 'web/up']);
		expect(result.refusedLinks.find((l) => l.path === 'web/abs')?.reason).toContain('absolute link target');
		const restored = await snapshotTree(target);
		expect([...restored.keys()].sort()).toEqual(['web', 'web/inner', 'web/ok']);
		expect(restored.get('web/ok')).toMatchObject({ type: 'symlink', target: '../web/inner' });

		// A file entry under a link (inside the target) is refused too: nothing is written through links.
		const second = await filesBackup(staging, 'full', { folders: [join(tree.protheusData, 'web')] });
		await replaceArchive(
			second.folder,
			[
				{ header: { name: 'web', type: 'directory', mode: 0o755 } },
				{ header: { name: 'web/inner', type: 'directory', mode: 0o755 } },
				{ header: { name: 'web/ok', type: 'symlink', linkname: 'inner' } },
				{ header: { name: 'web/ok/x.txt', type: 'file', mode: 0o644 }, content: Buffer.from('x') },
			],
			() => [
				dir('web'),
				dir('web/inner'),
				link('web/ok', 'inner'),
				{
					path: 'web/ok/x.txt',
					type: 'file',
					size: 1,
					mtime,
					mode: 0o644,
					sha256: '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881',
					target: null,
					from: second.manifest.backupId,
				},
			],
		);
		const error = await caught(restoreFilesChain({ setFolder: second.folder, target: join(work, 'links-target-2') }));
		expect(error.code).toBe('UNSAFE_ARCHIVE');
		expect(error.message).toContain('would be written through the link');
		expect(existsSync(join(work, 'links-target-2', 'web', 'inner', 'x.txt'))).toBe(false);
		expect(await readdir(outside)).toEqual([]);
	});

	it('refuses to restore into a folder that is not empty', async () => {
		const staging = await newStaging('not-empty');
		const set = await filesBackup(staging, 'full', { folders: [join(tree.protheusData, 'web')] });
		const target = join(work, 'busy-target');
		await mkdir(target);
		await writeFile(join(target, 'keep-me.txt'), 'mine');
		const error = await caught(restoreFilesChain({ setFolder: set.folder, target }));
		expect(error.code).toBe('TARGET_EXISTS');
		expect(await readFile(join(target, 'keep-me.txt'), 'utf8')).toBe('mine');
	});
});

describe('hot backups and hosts without zstd', () => {
	it('reports a file written to while it is read as inconsistent, in the manifest', async () => {
		const staging = await newStaging('hot');
		const hot = join(tree.protheusData, 'system', 'sx9010.dtc');
		await writeFile(hot, Buffer.alloc(24 << 20, 0x41));
		// A writer that keeps appending to the table while the backup runs (as a live AppServer would).
		const writer = spawn('sh', ['-c', `while :; do printf 'registro' >> "$1"; done`, 'sh', hot], { stdio: 'ignore' });
		try {
			await new Promise((resolve) => setTimeout(resolve, 100));
			const set = await filesBackup(staging, 'full', folders());
			const m = manifestOf(set.manifest, 'protheus-files');
			const entry = m.inventory.inconsistent.find((i) => i.path === 'protheus_data/system/sx9010.dtc');
			expect(entry?.reason).toMatch(/changed|modified/);
			// The archive stays valid: Verify passes (it proves the copy is what the index says, not that the file was quiet).
			expect((await verifyLocalSet(set.folder)).verification.ok).toBe(true);
		} finally {
			writer.kill('SIGKILL');
			await rm(hot, { force: true });
		}
	});

	it('skips and reports special files, and never backs up its own staging folder', async () => {
		const fifo = join(tree.protheusData, 'system', 'appserver.fifo');
		execFileSync('mkfifo', [fifo]);
		const staging = join(tree.protheusData, 'web', 'backups');
		await mkdir(staging);
		try {
			await filesBackup(staging, 'full', folders());
			const second = await filesBackup(staging, 'full', folders());
			const m = manifestOf(second.manifest, 'protheus-files');
			expect(m.inventory.skipped).toEqual(
				expect.arrayContaining([
					{ path: 'protheus_data/system/appserver.fifo', reason: 'special file (FIFO) not backed up' },
					{ path: 'protheus_data/web/backups', reason: 'the staging folder itself (backups are not backed up)' },
				]),
			);
			expect(m.inventory.entries.filter((e) => e.path.includes('backups') || e.path.endsWith('.fifo'))).toEqual([]);
			expect((await verifyLocalSet(second.folder)).verification.ok).toBe(true);
		} finally {
			await rm(fifo, { force: true });
			await rm(staging, { recursive: true, force: true });
		}
	});

	(noSmallDisk ? it.skip : it).each(['none', 'zstd', 'gzip'] as const)(
		`${noSmallDisk ? `skipped: ${noSmallDisk}: ` : ''}fails with DISK_FULL when the staging disk fills (compression %s), and removes the unfinished set`,
		async (compression) => {
			const disk = mountSmallDisk(1024 * 1024);
			// The probe said a tmpfs mounts here: failing now is a failure, not a skip.
			if (typeof disk === 'string') throw new Error(disk);
			try {
				const error = await caught(filesBackup(disk.path, 'full', { ...folders(), compression }));
				expect(error.code).toBe('DISK_FULL');
				expect(error.message).toContain(disk.path);
				expect(await readdir(join(disk.path, 'p12'))).toEqual([]);
			} finally {
				disk.unmount();
			}
		},
	);

	it('stops when the n8n execution is cancelled, and removes the unfinished set', async () => {
		const staging = await newStaging('cancelled');
		const cancel = new AbortController();
		// Cancelled right after the pre-flight, as a user pressing "Stop" would.
		const log = {
			...silentLogger,
			info: (message: string) => message.startsWith('Pre-flight passed') && cancel.abort(),
		};
		const error = await caught(filesBackup(staging, 'full', folders(), { signal: cancel.signal, log }));
		expect(error.code).toBe('DUMP_FAILED');
		expect(error.message).toContain('stopped');
		expect(await readdir(join(staging, 'p12'))).toEqual([]);
	});

	it('falls back to gzip when the zstd command is missing, says so, and still restores', async () => {
		const staging = await newStaging('no-zstd');
		const set = await filesBackup(staging, 'full', {
			folders: [join(tree.protheusData, 'dirdoc')],
			zstdPath: join(work, 'no-such-zstd'),
		});
		const m = manifestOf(set.manifest, 'protheus-files');
		expect(m.compression.method).toBe('gzip');
		expect(m.source.archiver).toContain('zstd command not found');
		expect(m.artifacts[0].path).toBe('files.tar.gz');
		expect((await verifyLocalSet(set.folder)).verification.ok).toBe(true);
		const target = join(work, 'gzip-restore');
		await restoreFilesChain({ setFolder: set.folder, target });
		const restored = await snapshotTree(join(target, 'dirdoc'));
		const source = await snapshotTree(join(tree.protheusData, 'dirdoc'));
		expect([...restored.entries()].map(([p, n]) => [p, n.sha256, n.mode])).toEqual(
			[...source.entries()].map(([p, n]) => [p, n.sha256, n.mode]),
		);
		expect((await stat(join(target, 'dirdoc', 'co01', 'vazia'))).isDirectory()).toBe(true);
	});
});
