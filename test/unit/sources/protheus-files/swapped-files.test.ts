/**
 * Issue 11 item 2: between the scan (lstat) and the read, a file can be swapped. A symlink to a
 * file outside the tree must not be archived under the innocent name, and a FIFO must not block
 * n8n's event loop: both are left out and reported, like a file that vanished. Run on the fast
 * (synchronous) path and on the slow one (asynchronous reads, small files read ahead).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { BackupSetWriter } from '../../../../core/backup-set/set-writer';
import { writeTarArchive, type StoredFile } from '../../../../core/sources/protheus-files/archive-writer';
import { chooseCodec, decompress } from '../../../../core/sources/protheus-files/compression';
import { FsPacer } from '../../../../core/sources/protheus-files/fs-pacer';
import { makeSelection } from '../../../../core/sources/protheus-files/patterns';
import { labelRoots, scanTree, type TreeEntry } from '../../../../core/sources/protheus-files/tree';

const SECRET = 'root-only secret outside the tree\n';
let work: string;
let root: string;
beforeEach(async () => {
	work = await mkdtemp(join(tmpdir(), 'totvs-swapped-'));
	root = join(work, 'protheus_data');
	await mkdir(root);
	await writeFile(join(root, 'a.txt'), 'first file\n');
	await writeFile(join(root, 'innocent.txt'), 'innocent content\n');
	await writeFile(join(root, 'z.txt'), 'last file\n');
	await writeFile(join(work, 'secret.key'), SECRET);
});
afterEach(async () => {
	await rm(work, { recursive: true, force: true });
});

const scan = async () => (await scanTree(labelRoots([{ path: root, kind: 'folder' }]), makeSelection([], []))).entries;

async function archive(list: TreeEntry[], pacer?: FsPacer) {
	const set = await BackupSetWriter.create(await mkdtemp(join(work, 'staging-')), 'p12', 'full', 'files', new Date());
	const codec = await chooseCodec('gzip', null);
	const files = new Map<string, StoredFile>();
	await writeTarArchive({
		set,
		artifactPath: 'files.tar.gz',
		codec,
		entries: list,
		pacer,
		onFile: (entry, stored) => files.set(entry.path, stored),
	});
	const compressed = await readFile(join(set.folder, 'files.tar.gz'));
	const plain = await buffer((await decompress('gzip', Readable.from([compressed]))).output);
	return { files, plain };
}

const paths = [
	['fast', () => undefined],
	['slow', () => new FsPacer(20, 2, 0)],
] as const;

describe.each(paths)('files swapped after the scan (%s filesystem path)', (_name, pacer) => {
	it('a file replaced by a symlink to a file outside the tree is not archived, and is reported', async () => {
		const list = await scan();
		const innocent = join(root, 'innocent.txt');
		await unlink(innocent);
		await symlink(join(work, 'secret.key'), innocent);
		const { files, plain } = await archive(list, pacer());
		expect(plain.includes(SECRET)).toBe(false);
		expect(files.get('protheus_data/innocent.txt')?.skipped).toMatch(/symbolic link/);
		expect(files.get('protheus_data/z.txt')?.skipped).toBeUndefined();
	});

	it('a file replaced by a FIFO does not block, and is reported', async () => {
		const list = await scan();
		const innocent = join(root, 'innocent.txt');
		await unlink(innocent);
		execFileSync('mkfifo', [innocent]);
		// Bounds the test on the old code: a writer opens the FIFO after 3 s, which releases a
		// blocked open. Fixed code never waits for it.
		const writer = spawn('sh', ['-c', `sleep 3; : > '${innocent}'`], { stdio: 'ignore' });
		const exited = new Promise((resolve) => writer.on('exit', resolve));
		const started = Date.now();
		const { files } = await archive(list, pacer());
		const elapsed = Date.now() - started;
		writer.kill();
		await exited;
		expect(elapsed).toBeLessThan(2000);
		expect(files.get('protheus_data/innocent.txt')?.skipped).toMatch(/FIFO|not a regular file/);
		expect(files.get('protheus_data/z.txt')?.skipped).toBeUndefined();
	});

	it('a file replaced by another regular file (another inode) is reported, not archived', async () => {
		const list = await scan();
		const innocent = join(root, 'innocent.txt');
		await writeFile(join(root, 'other.tmp'), 'other content\n');
		execFileSync('mv', [join(root, 'other.tmp'), innocent]);
		const { files, plain } = await archive(list, pacer());
		expect(files.get('protheus_data/innocent.txt')?.skipped).toMatch(/replaced/);
		expect(plain.includes('other content')).toBe(false);
	});
});
