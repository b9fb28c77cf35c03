/**
 * SafeWriter's small files: a path an earlier set left is replaced (never written through),
 * and a folder where the archive has a file is refused, the folder left as it was.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { FileEntry } from '../../../../core/backup-set/files-manifest';
import type { ArchiveEntry } from '../../../../core/sources/protheus-files/archive-reader';
import { SafeWriter } from '../../../../core/sources/protheus-files/restore/safe-writer';

let root: string;
beforeEach(async () => {
	root = await mkdtemp(join(tmpdir(), 'totvs-safe-writer-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

function entryOf(path: string, content: string): { entry: ArchiveEntry; expected: FileEntry } {
	const bytes = Buffer.from(content);
	return {
		entry: {
			header: { name: path, type: 'file', size: bytes.length } as ArchiveEntry['header'],
			path,
			segments: path.split('/'),
			stream: Readable.from([bytes]),
		},
		expected: {
			path,
			type: 'file',
			size: bytes.length,
			mtime: new Date().toISOString(),
			mode: 0o644,
			sha256: createHash('sha256').update(bytes).digest('hex'),
			from: 'set',
		} as FileEntry,
	};
}

test('a file an earlier set left is replaced; a link there is replaced, never written through', async () => {
	await mkdir(join(root, 'data'));
	await writeFile(join(root, 'data', 'a.txt'), 'old content\n');
	const outside = join(root, '..', `${join(root).split('/').pop()}-outside.txt`);
	await writeFile(outside, 'outside\n');
	await symlink(outside, join(root, 'data', 'link.txt'));
	try {
		const writer = new SafeWriter(root);
		for (const [path, content] of [
			['data/a.txt', 'new content\n'],
			['data/link.txt', 'through the link?\n'],
		]) {
			const { entry, expected } = entryOf(path, content);
			await writer.file(entry, expected);
		}
		await writer.flush();
		expect(await readFile(join(root, 'data', 'a.txt'), 'utf8')).toBe('new content\n');
		expect(await readFile(join(root, 'data', 'link.txt'), 'utf8')).toBe('through the link?\n');
		expect(await readFile(outside, 'utf8')).toBe('outside\n');
	} finally {
		await rm(outside, { force: true });
	}
});

test('a folder where the archive has a file is refused and left as it was', async () => {
	await mkdir(join(root, 'data', 'a.txt'), { recursive: true });
	await writeFile(join(root, 'data', 'a.txt', 'inside'), 'kept\n');
	const writer = new SafeWriter(root);
	const { entry, expected } = entryOf('data/a.txt', 'a file\n');
	await expect(
		(async () => {
			await writer.file(entry, expected);
			await writer.flush();
		})(),
	).rejects.toThrow(/is a folder where the archive has a file/);
	expect(await readdir(join(root, 'data', 'a.txt'))).toEqual(['inside']);
});
